"""A local managed-identity endpoint speaking the App Service protocol (``IDENTITY_ENDPOINT``).

azure-identity's real ``ManagedIdentityCredential`` talks to it unchanged when ``IDENTITY_ENDPOINT``
and ``IDENTITY_HEADER`` are set: ``GET ?resource=...&api-version=2019-08-01`` with the header
``X-IDENTITY-HEADER`` → ``{"access_token", "expires_on", "resource", "token_type"}``.

Tokens are JWTs signed HS256 with ``LOCAL_IDENTITY_SECRET``; the speech emulator checks them with
the same secret (``--require-token``). The claims are the ones Azure Storage-style validators look
at (v1 issuer, ``aud``, ``iat``/``nbf``/``exp``, ``oid``, ``tid``).
``GET /stats`` counts token requests per resource, so tests can prove one fetch per invocation.

Run: ``python -m local_stack.identity --port 8081`` (secrets from the environment).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt

TENANT_ID = "72f988bf-0000-4000-8000-00000000c0de"
OBJECT_ID = "5a1f0c2e-0000-4000-8000-0000000000a1"
TOKEN_PATH = "/msi/token"
LIFETIME_SECONDS = 3600


def mint(resource: str, secret: str, *, client_id: str | None = None, lifetime: int = LIFETIME_SECONDS,
         now: float | None = None) -> str:
    """A signed access token for ``resource`` (``aud``), valid for ``lifetime`` seconds from ``now``."""
    now = int(time.time() if now is None else now)
    claims = {
        "aud": resource.rstrip("/"),
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "oid": OBJECT_ID,
        "tid": TENANT_ID,
        "sub": OBJECT_ID,
        "appid": client_id or "local-system-assigned",
        "uti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class IdentityServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, secret: str, header: str) -> None:
        super().__init__(address, _Handler)
        self.secret = secret
        self.header = header
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: IdentityServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # one line per token would drown the test output

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        url = urlparse(self.path)
        if url.path == "/stats":
            with self.server.lock:
                self._send(200, {"requests": dict(self.server.counts)})
            return
        if url.path != TOKEN_PATH:
            self._send(404, {"error": "not_found"})
            return
        if self.headers.get("X-IDENTITY-HEADER") != self.server.header:
            self._send(401, {"error": "invalid_header", "error_description": "X-IDENTITY-HEADER is wrong"})
            return
        query = parse_qs(url.query)
        resource = (query.get("resource") or [""])[0]
        if not resource:
            self._send(400, {"error": "invalid_request", "error_description": "resource is required"})
            return
        client_id = (query.get("client_id") or [None])[0]
        with self.server.lock:
            self.server.counts[resource.rstrip("/")] += 1
        now = int(time.time())
        self._send(200, {
            "access_token": mint(resource, self.server.secret, client_id=client_id, now=now),
            "expires_on": str(now + LIFETIME_SECONDS),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id or "local-system-assigned",
        })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    secret = os.environ.get("LOCAL_IDENTITY_SECRET")
    header = os.environ.get("IDENTITY_HEADER")
    if not secret or not header:
        parser.error("set LOCAL_IDENTITY_SECRET and IDENTITY_HEADER")
    server = IdentityServer((args.host, args.port), secret=secret, header=header)
    print(f"identity endpoint on http://{args.host}:{args.port}{TOKEN_PATH}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
