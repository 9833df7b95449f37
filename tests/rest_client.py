"""A plain HTTP client for the emulator's REST APIs (urllib), and a web hook receiver, for the emulator tests.

Deliberately not the product's client: the tests pin what goes over the wire (the multipart form, the
headers, the JSON shapes), so a product client built on azure-core meets exactly this.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAST_PATH = "/speechtotext/transcriptions:transcribe"
SUBMIT_PATH = "/speechtotext/transcriptions:submit"
WEBHOOKS_PATH = "/speechtotext/webhooks"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_url(ws_url: str) -> str:
    """The emulator's base URL for REST (the same host and port as its websocket)."""
    return ws_url.replace("ws://", "http://")


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One request; an HTTP error status is an Answer too, not an exception."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers), exc.read())


def call_json(method: str, url: str, value: Any = None, **kwargs: Any) -> Answer:
    body = None if value is None else json.dumps(value).encode()
    return call(method, url, body=body, content_type="application/json" if body is not None else None, **kwargs)


def form(definition: dict[str, Any] | None, audio: bytes | None, *, filename: str = "audio.wav") -> tuple[bytes, str]:
    """A multipart body as the official client sends it: ``definition`` (JSON) and ``audio`` (a file part)."""
    boundary = uuid.uuid4().hex
    parts = []
    if definition is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="definition"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(definition)}\r\n".encode()
        )
    if audio is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + audio
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def transcribe(
    base: str,
    definition: dict[str, Any] | None,
    audio: Path | bytes | None,
    *,
    token: str | None,
    query: str = "",
    version: str = "2025-10-15",
    timeout: float = 60.0,
) -> Answer:
    """``POST {base}/speechtotext/transcriptions:transcribe`` with a form."""
    data = audio.read_bytes() if isinstance(audio, Path) else audio
    body, content_type = form(definition, data)
    url = f"{base}{FAST_PATH}?api-version={version}{query}"
    return call("POST", url, token=token, body=body, content_type=content_type, timeout=timeout)


class LoopbackServer:
    """An HTTP server on a free loopback port, run on a daemon thread until the block ends."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"


@dataclass
class Receiver(LoopbackServer):
    """A web hook receiver on a free loopback port: answers challenges (or not), records every callback."""

    echo_challenge: bool = True
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    challenges: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = b""
                if self.headers.get("X-MicrosoftSpeechServices-Event") == "Challenge":
                    receiver.challenges += 1
                    token = parse_qs(urlsplit(self.path).query).get("validationToken", [""])[0]
                    answer = token.encode() if receiver.echo_challenge else b"not the token"
                else:
                    with receiver.arrived:
                        receiver.calls.append((dict(self.headers), body))
                        receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self._serve(Handler)
        return self

    @property
    def url(self) -> str:
        return f"{self.base}/api/speech-callback"

    def wait_for(self, self_url: str, timeout: float) -> tuple[dict[str, str], bytes] | None:
        """The first callback whose body names ``self_url``; None when none came in time."""

        def found() -> tuple[dict[str, str], bytes] | None:
            return next((c for c in self.calls if json.loads(c[1]).get("self") == self_url), None)

        with self.arrived:
            self.arrived.wait_for(lambda: found() is not None, timeout)
            return found()
