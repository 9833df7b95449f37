"""The local stack itself: real token fetches, and no process left behind even when the block fails."""

from __future__ import annotations

import urllib.error
import urllib.request

import jwt
import pytest

from local_stack.stack import LocalStack

#: These start real processes of their own (the speech emulator, the stack): not for ``make test-unit``.
pytestmark = pytest.mark.stack


def test_azure_identity_gets_a_verifiable_token_from_the_local_endpoint(stack):
    from azure.identity import ManagedIdentityCredential

    with ManagedIdentityCredential() as credential:
        token = credential.get_token("https://cognitiveservices.azure.com/.default")
    claims = jwt.decode(
        token.token,
        stack.env["LOCAL_IDENTITY_SECRET"],
        algorithms=["HS256"],
        audience="https://cognitiveservices.azure.com",
    )
    assert claims["iss"].startswith("https://sts.windows.net/")
    assert claims["oid"]
    assert claims["tid"]
    assert claims["exp"] > claims["iat"] == claims["nbf"]


def test_the_identity_endpoint_refuses_a_caller_without_the_identity_header(stack):
    request = urllib.request.Request(
        f"{stack.env['IDENTITY_ENDPOINT']}?resource=https://storage.azure.com&api-version=2019-08-01",
        headers={"X-IDENTITY-HEADER": "wrong"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401


def test_every_process_ends_when_the_block_fails():
    with pytest.raises(RuntimeError, match="boom"), LocalStack() as failing:
        popens = list(failing.processes)
        assert len(popens) == 3
        assert all(p.poll() is None for p in popens)
        raise RuntimeError("boom")
    assert all(p.poll() is not None for p in popens)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_a_stopped_serve_command_ends_every_process_it_started(stop):
    """``kill <pid>`` or Ctrl-C of ``python -m local_stack serve`` must not leave the worker, Azurite and friends
    behind."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import psutil

    from local_stack.processes import free_port

    serve = subprocess.Popen(
        [sys.executable, "-m", "local_stack", "serve", "--port", str(free_port())],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = []
        for line in serve.stdout:
            output.append(line)
            if "stops the host and the stack" in line:
                break
        assert '"LocalHttpPort"' in "".join(output), "".join(output[-20:])
        children = psutil.Process(serve.pid).children(recursive=True)
        assert len(children) >= 4, "".join(output[-20:])  # the worker, Azurite, the emulator, the identity endpoint
        serve.send_signal(getattr(signal, stop))
        assert serve.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs(children, timeout=15)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        if serve.poll() is None:
            serve.kill()
