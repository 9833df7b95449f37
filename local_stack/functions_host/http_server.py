"""The host's HTTP front: ``/api/<route>`` for the HTTP functions, the blobs extension's webhook, and the admin
endpoints ``func start`` serves. Function keys are not checked, as ``func start`` does not check them.

- ``/api/<route>``: the function whose route and method match, else 404; a failed invocation is a bare 500.
- ``POST /runtime/webhooks/blobs?functionName=Host.Functions.<name>``: Event Grid deliveries.
- ``POST /admin/functions/<name>``: run a timer now, or a blob function for ``{"input": "<container>/<blob>"}``
  (202, as the host answers); ``GET /admin/host/status``: ``{"state": "Running"}``.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from local_stack.functions_host.channel import WorkerError
from local_stack.functions_host.invocations import HttpRequestData

if TYPE_CHECKING:
    from local_stack.functions_host.host import FunctionsHost

log = logging.getLogger("functions_host")
ADMIN_FUNCTIONS = "/admin/functions/"


class HostHttpServer:
    def __init__(self, port: int, host: FunctionsHost) -> None:
        handler = type("Handler", (_Handler,), {"host": host})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="host-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    host: FunctionsHost

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/api/"):
            status, headers, payload = self._function(parts.path, parts.query, body)
        elif parts.path == self.host.blob_trigger.webhook_path and self.command == "POST":
            status, payload = self.host.blob_trigger.webhook(parts.query, self._headers(), body)
            headers = {"Content-Type": "application/json"} if payload else {}
        elif parts.path.startswith(ADMIN_FUNCTIONS) and self.command == "POST":
            status, headers, payload = self._admin_run(parts.path.removeprefix(ADMIN_FUNCTIONS), body)
        elif parts.path == "/admin/host/status":
            status, headers, payload = 200, {"Content-Type": "application/json"}, b'{"state": "Running"}'
        else:
            status, headers, payload = 404, {}, b""
        self._answer(status, headers, payload)

    def _function(self, path: str, query: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        found = self.host.invoker.http_route(self.command, path)
        if found is None:
            return 404, {}, b""
        function, params = found
        url = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
        request = HttpRequestData(self.command, url, self._headers(), _query(query), body)
        try:
            answer = self.host.invoker.http(function, request, params)
        except WorkerError as error:
            log.error("%s %s: the invocation of %s failed: %s", self.command, path, function.name, error)
            return 500, {}, b""
        return answer.status, answer.headers, answer.body

    def _admin_run(self, name: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            given = json.loads(body or b"{}").get("input", "")
        except (ValueError, AttributeError):
            return 400, {}, b""
        if not self.host.run_function(name, given):
            return 404, {}, b""
        return 202, {}, b""

    def _headers(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for key, value in self.headers.items():
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return merged

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("http: " + format, *args)


def _query(query: str) -> dict[str, str]:
    """The query as the host hands it on: repeated keys joined by commas."""
    merged: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged
