"""Start an emulator process for tests and tools, and make sure it goes away again.

A subprocess rather than a thread: the emulator is then exercised exactly as a developer runs
it (its CLI, its own event loop), a crash cannot take the test process with it, and its memory
can be measured on its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

#: Loading Whisper and warming it up takes a few seconds on 2 cores; allow for a busy machine.
STARTUP_TIMEOUT = 60.0
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_until_accepting(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"speech emulator exited with code {process.returncode} before accepting connections")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"speech emulator did not accept connections on {host}:{port} within {timeout:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def start_emulator(
    port: int | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``python -m speech_emulator`` until the block ends; yields ``(url, popen)``.

    ``url`` is ``ws://host:port``, the form to pass as ``SpeechConfig(endpoint=url)`` or
    ``SpeechConfig(host=url)``; the REST APIs answer on the same port at ``http://host:port``.
    ``env`` is added to this process's environment. The emulator's log (one line per session or
    REST request) goes to ``log_path`` if given, else to this process's stderr.
    The process is terminated on exit, also when the block raises or start-up fails.
    """
    port = port or free_port(host)
    child_env = dict(os.environ)
    child_env["HF_HUB_OFFLINE"] = "1"
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), child_env.get("PYTHONPATH")) if p)
    child_env.update(env or {})
    command = [sys.executable, "-m", "speech_emulator", "--host", host, "--port", str(port), *extra_args]
    with ExitStack() as stack:
        log_file = stack.enter_context(open(log_path, "ab")) if log_path is not None else None
        process = subprocess.Popen(command, env=child_env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        stack.callback(_stop, process)
        _wait_until_accepting(host, port, process, startup_timeout)
        yield f"ws://{host}:{port}", process


def emulator_stats(url: str) -> dict:
    """A running emulator's session counters (``GET /stats``): ``live``, ``peak``, ``refused_quota``, ..."""
    import json
    import urllib.request

    with urllib.request.urlopen(url.replace("ws://", "http://") + "/stats", timeout=5) as response:
        return json.load(response)
