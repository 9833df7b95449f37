"""Faults of what the app depends on, beyond ``tests/test_fault_matrix.py``: each classified, bounded, said.

A Speech endpoint that takes no connection (a wrong port, scheme or host name) is retried briefly, then
recorded as ``speech_unreachable`` naming ``SPEECH_ENDPOINT``, and health says so without spending a token;
an identity endpoint that answers 200 with something that is not a token is transient; storage down makes
health ``unavailable``, not ``misconfigured``. Each runs against the real stack, the fault injected where
an operator would meet it (a setting, a stand-in server, the storage proxy).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_stack.processes import free_port
from tests.app_functions import api, post_transcription
from tests.blob_io import upload
from tests.faults import SPEECH_RESOURCE, deliver, error_record, intact, proxied_storage, timed, within

TOKEN_TIMEOUT, STORAGE_TIMEOUT = 3.0, 4.0
#: The unreachable endpoint's retry bound in these cases (the policy's 10 s, shortened: the same code path).
UNREACHABLE_RETRY_SECONDS = 3.0


@pytest.fixture(autouse=True)
def _small_bounds(stack, monkeypatch):
    monkeypatch.setenv("TOKEN_TIMEOUT_SECONDS", str(TOKEN_TIMEOUT))
    monkeypatch.setenv("STORAGE_TIMEOUT_SECONDS", str(STORAGE_TIMEOUT))
    monkeypatch.setattr("shared.platform.start_retries.UNREACHABLE_RETRY_SECONDS", UNREACHABLE_RETRY_SECONDS)


def wrong_endpoint(stack, kind: str) -> str:
    """``SPEECH_ENDPOINT`` with one part wrong: nothing listens on the port, TLS to a plain port, no such host."""
    return {
        "port": f"ws://127.0.0.1:{free_port()}",
        "scheme": stack.speech_endpoint.replace("ws://", "wss://"),
        "host": "ws://no-such-speech-host.invalid:5000",
    }[kind]


@pytest.mark.parametrize("kind", ["port", "scheme", "host"])
def test_a_speech_endpoint_that_takes_no_connection_is_named_after_a_bounded_retry(
    stack, service, monkeypatch, three_sentences_wav, kind
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    monkeypatch.setenv("SPEECH_ENDPOINT", wrong_endpoint(stack, kind))
    if kind == "scheme":
        monkeypatch.setenv("TOKEN_CREDENTIAL", "managedidentity")  # TOKEN_CREDENTIAL=none is for ws:// only
    blob = deliver(name)  # SPEECH_START_RETRY_SECONDS is 300: the bound is the unreachable one
    assert (blob.error.code, blob.error.transient) == ("speech_unreachable", True), blob.error
    assert within(blob.seconds, UNREACHABLE_RETRY_SECONDS), blob.seconds
    record = error_record(service, name)
    assert record["code"] == "speech_unreachable"
    assert record["message"].startswith("SPEECH_ENDPOINT could not be")
    assert intact(service, name, data)
    http = timed(lambda: post_transcription(data))
    assert http.result.status_code == 502, http.seconds
    assert within(http.seconds, UNREACHABLE_RETRY_SECONDS), http.seconds
    assert json.loads(http.result.get_body())["error"]["code"] == "speech_unreachable"
    health = api("GET", "/api/health")
    body = json.loads(health.get_body())
    assert (health.status_code, body["status"], body["checks"]["speech"]) == (503, "unavailable", "unavailable")
    assert any(p.startswith("speech_unreachable: SPEECH_ENDPOINT") for p in body["problems"]), body


def test_health_connects_to_speech_without_spending_a_token(stack):
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    body = json.loads(api("GET", "/api/health").get_body())
    assert body["status"] == "ok"
    assert body["checks"] == {"storage": "ok", "speech": "ok"}
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_health_says_unavailable_not_misconfigured_while_storage_is_down(stack, monkeypatch, mode):
    with proxied_storage(stack, monkeypatch) as proxy:
        getattr(proxy, mode)()
        proxy.cut()
        health = timed(lambda: api("GET", "/api/health"))
    body = json.loads(health.result.get_body())
    assert (health.result.status_code, body["status"], body["checks"]["storage"]) == (503, "unavailable", "unavailable")
    assert body["problems"][0].startswith("storage_error: ")
    assert within(health.seconds, STORAGE_TIMEOUT)


@contextmanager
def identity_answering(status: int, body: bytes) -> Iterator[str]:
    """An identity endpoint of the test's own that answers every token request ``status`` with ``body``."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/msi/token"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("body", [b"<html>a proxy's sign-in page</html>", b'{"token_type": "Bearer"}'])
def test_an_identity_endpoint_answering_200_without_a_token_is_transient(
    stack, service, monkeypatch, three_sentences_wav, body
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_answering(200, body) as endpoint:
        monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint)
        blob = deliver(name)
        uploads = timed(
            lambda: api("POST", "/api/uploads", b'{"filename": "a.wav"}', {"content-type": "application/json"})
        )
    assert (blob.error.code, blob.error.transient) == ("identity_unavailable", True), blob.error
    assert "no usable token" in blob.error.message
    assert within(blob.seconds, TOKEN_TIMEOUT)
    assert uploads.result.status_code == 503
    assert within(uploads.seconds, TOKEN_TIMEOUT)
    assert json.loads(uploads.result.get_body())["error"]["code"] == "identity_unavailable"
    assert intact(service, name, data)
