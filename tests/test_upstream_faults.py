"""Faults of what the app depends on, beyond ``tests/test_fault_matrix.py``: each classified, bounded, said.

An identity endpoint that answers 200 with something that is not a token is transient. Each runs against
the real stack, the fault injected where an operator would meet it (here a stand-in server).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.app_functions import api
from tests.blob_io import upload
from tests.faults import deliver, intact, timed, within

TOKEN_TIMEOUT = 3.0


@pytest.fixture(autouse=True)
def _small_bounds(stack, monkeypatch):
    monkeypatch.setenv("TOKEN_TIMEOUT_SECONDS", str(TOKEN_TIMEOUT))


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
def test_an_identity_endpoint_answering_200_without_a_token_is_transient(stack, service, monkeypatch,
                                                                         three_sentences_wav, body):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_answering(200, body) as endpoint:
        monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint)
        blob = deliver(name)
        uploads = timed(lambda: api("POST", "/api/uploads", b'{"filename": "a.wav"}',
                                    {"content-type": "application/json"}))
    assert (blob.error.code, blob.error.transient) == ("identity_unavailable", True), blob.error
    assert "no usable token" in blob.error.message and within(blob.seconds, TOKEN_TIMEOUT)
    assert uploads.result.status_code == 503 and within(uploads.seconds, TOKEN_TIMEOUT)
    assert json.loads(uploads.result.get_body())["error"]["code"] == "identity_unavailable"
    assert intact(service, name, data)
