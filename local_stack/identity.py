"""A local managed-identity endpoint speaking the App Service protocol (``IDENTITY_ENDPOINT``).

azure-identity's real ``ManagedIdentityCredential`` talks to it unchanged when ``IDENTITY_ENDPOINT``
and ``IDENTITY_HEADER`` are set: ``GET ?resource=...&api-version=2019-08-01`` with the header
``X-IDENTITY-HEADER`` → ``{"access_token", "expires_on", "resource", "token_type"}``.

Tokens are JWTs signed HS256 with ``LOCAL_IDENTITY_SECRET``; the speech emulator checks them with
the same secret (``--require-token``). The claims are the ones Azure Storage-style validators look
at (v1 issuer, ``aud``, ``iat``/``nbf``/``exp``, ``oid``, ``tid``).
``GET /stats`` counts token requests per resource, so tests can prove one fetch per invocation.
``POST /faults`` ``{"resource", "mode", "count"}`` makes the next ``count`` token requests for
``resource`` go wrong, as an operator's identity endpoint can: a token that is ``expired`` or names the
``wrong-audience`` (so tests prove a refused token surfaces typed), an HTTP error (``status-500``,
``status-429``, ``status-403``, ...), throttling that asks the caller to wait ``FAULT_HOLD_SECONDS``
(``retry-after``: 429 with ``Retry-After: 600``, which azure-core's retry policy would sleep through),
an answer sent a byte a second (``trickle``), or no answer at all for ``FAULT_HOLD_SECONDS``
(``silent``), so tests prove every wait for a token is bounded.

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


#: How ``POST /faults`` can spoil a token: its ``exp`` already passed, or it names another audience.
TOKEN_FAULTS = ("expired", "wrong-audience")
#: How ``POST /faults`` can spoil the answer itself (besides ``status-<400..599>``).
ANSWER_FAULTS = ("trickle", "silent", "retry-after")
#: How long a ``silent`` answer keeps the caller waiting (and a ``retry-after`` one asks it to wait), and
#: the pause between ``trickle`` bytes.
FAULT_HOLD_SECONDS = 600.0
TRICKLE_SECONDS_PER_BYTE = 1.0


def fault_mode_valid(mode: object) -> bool:
    """Whether ``mode`` is one ``POST /faults`` accepts."""
    if mode in TOKEN_FAULTS or mode in ANSWER_FAULTS:
        return True
    return isinstance(mode, str) and mode.startswith("status-") and mode[7:].isdigit() and 400 <= int(mode[7:]) <= 599


def mint(
    resource: str,
    secret: str,
    *,
    client_id: str | None = None,
    lifetime: int = LIFETIME_SECONDS,
    now: float | None = None,
    fault: str | None = None,
) -> str:
    """A signed access token for ``resource`` (``aud``), valid for ``lifetime`` seconds from ``now``."""
    now = int(time.time() if now is None else now)
    audience = resource.rstrip("/")
    if fault == "expired":
        now -= 2 * lifetime  # issued and expired in the past; the response's expires_on still looks fine
    elif fault == "wrong-audience":
        audience = "https://management.azure.com"
    claims = {
        "aud": audience,
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


class LocalTokenCredential:
    """A ``TokenCredential`` that mints tokens itself: for the operator's side of the local stack.

    Test setup and ``make run`` uploads use it so they need no key and add nothing to the
    endpoint's per-resource counts, which belong to the app's invocations.
    """

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def get_token(self, *scopes: str, **kwargs: object):
        from azure.core.credentials import AccessToken

        resource = scopes[0].removesuffix("/.default")
        now = int(time.time())
        return AccessToken(mint(resource, self._secret, now=now), now + LIFETIME_SECONDS)

    def close(self) -> None:
        pass


class IdentityServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, secret: str, header: str) -> None:
        super().__init__(address, _Handler)
        self.secret = secret
        self.header = header
        self.counts: Counter[str] = Counter()
        self.faults: dict[str, tuple[str, int]] = {}  # resource → (mode, tokens left to spoil)
        self.lock = threading.Lock()

    def take_fault(self, resource: str) -> str | None:
        with self.lock:
            mode, left = self.faults.get(resource, (None, 0))
            if not left:
                return None
            self.faults[resource] = (mode, left - 1)
            return mode


class _Handler(BaseHTTPRequestHandler):
    server: IdentityServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # one line per token would drown the test output

    def _send(self, status: int, body: dict, *, trickle: bool = False, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not trickle:
            self.wfile.write(data)
            return
        with contextlib.suppress(OSError):  # the caller gave up and hung up: that is the point
            for byte in data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(TRICKLE_SECONDS_PER_BYTE)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        if urlparse(self.path).path != "/faults":
            self._send(404, {"error": "not_found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            resource, mode, count = body["resource"].rstrip("/"), body["mode"], int(body.get("count", 1))
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": "expected {resource, mode, count}"})
            return
        if not fault_mode_valid(mode):
            self._send(400, {"error": f"mode must be one of {TOKEN_FAULTS + ANSWER_FAULTS} or status-<400..599>"})
            return
        with self.server.lock:
            self.server.faults[resource] = (mode, count)
        self._send(200, {"resource": resource, "mode": mode, "count": count})

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
        fault = self.server.take_fault(resource.rstrip("/"))
        if fault == "silent":
            time.sleep(FAULT_HOLD_SECONDS)
            return
        if fault == "retry-after":
            self._send(
                429,
                {"error": "throttled", "error_description": "injected HTTP 429 with Retry-After"},
                headers={"Retry-After": str(int(FAULT_HOLD_SECONDS))},
            )
            return
        if fault is not None and fault.startswith("status-"):
            self._send(int(fault[7:]), {"error": "injected_fault", "error_description": f"injected HTTP {fault[7:]}"})
            return
        self._send(
            200,
            {
                "access_token": mint(
                    resource,
                    self.server.secret,
                    client_id=client_id,
                    now=now,
                    fault=fault if fault in TOKEN_FAULTS else None,
                ),
                "expires_on": str(now + LIFETIME_SECONDS),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id or "local-system-assigned",
            },
            trickle=fault == "trickle",
        )


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
