"""HTTP/1.1 for the REST APIs: the request head, the body as a stream, the response, the service's error shapes.

Just enough HTTP for the fast and batch transcription APIs behind the one-port front
(:mod:`speech_emulator.front`). Bodies are read as a stream (``Content-Length`` or chunked), so a
multi-hundred-MB upload is never held whole; ``Expect: 100-continue`` is honoured. One request per
connection (``Connection: close``): every HTTP client handles it, and a fault that cuts or holds a
connection then concerns exactly one request.

Errors come in the two shapes the service uses (see the README, "REST errors"): the API's own
``{"code", "message", "innerError"}`` (its ``Error`` schema), and the gateway's
``{"error": {"code": "401", "message"}}`` for what is refused before the API (token, rate limit).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers

#: Bytes handed to a reader per step: large enough to keep a loopback upload fast, small enough to stream.
CHUNK_BYTES = 256 * 1024
#: A chunk-size line or trailer longer than this is not HTTP.
_LINE_LIMIT = 8 * 1024
#: A refused request's body is read and dropped up to this size (so the client sees the answer, not a
#: reset); a client that declares more is left to the reset.
DRAIN_LIMIT = 300 * 1024 * 1024


class HttpError(Exception):
    """A request refused with ``status`` and a JSON ``body`` (the message is for the log)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {json.dumps(body)[:200]}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return Response.json(self.status, self.body, self.headers)


def service_error(status: int, code: str, message: str, inner: str | None = None) -> HttpError:
    """The API's own error shape (its ``Error`` schema): ``{"code", "message", "innerError"?}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        body["innerError"] = {"code": inner, "message": message}
    return HttpError(status, body)


def gateway_error(status: int, message: str, *, retry_after: int | None = None) -> HttpError:
    """The gateway's shape, for refusals before the API: ``{"error": {"code": "<status>", "message"}}``."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return HttpError(status, {"error": {"code": str(status), "message": message}}, headers)


@dataclass(frozen=True)
class Request:
    """A parsed request head."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: Headers

    @classmethod
    def parse(cls, head: bytes) -> Request:
        """The head up to and including its blank line; HttpError 400 when it is not HTTP/1.x."""
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            if not version.startswith("HTTP/1."):
                raise ValueError(version)
            headers = Headers()
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip()] = value.strip()
        except ValueError:
            raise gateway_error(HTTPStatus.BAD_REQUEST, "Malformed HTTP request") from None
        parts = urlsplit(target)
        return cls(method.upper(), target, parts.path, dict(parse_qsl(parts.query)), headers)

    @property
    def base_url(self) -> str:
        """``http://host:port`` as the client addressed it: the base of every link the service returns."""
        return f"http://{self.headers.get('Host', 'localhost')}"


@dataclass
class Body:
    """The request body, read as a stream of chunks and counted."""

    request: Request
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: int = 0
    finished: bool = False
    _continued: bool = field(default=False, repr=False)

    @property
    def length(self) -> int | None:
        """The declared ``Content-Length``, None when chunked or absent."""
        value = self.request.headers.get("Content-Length")
        return int(value) if value is not None and value.strip().isdigit() else None

    @property
    def chunked(self) -> bool:
        return "chunked" in self.request.headers.get("Transfer-Encoding", "").lower()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive; a connection that ends early raises ``asyncio.IncompleteReadError``."""
        if self.finished:
            return
        await self._continue()
        source = self._chunked() if self.chunked else self._sized(self.length or 0)
        async for chunk in source:
            self.received += len(chunk)
            yield chunk
        self.finished = True

    async def read_all(self, limit: int) -> bytes:
        """A small body (JSON) whole; HttpError 413 past ``limit`` bytes."""
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > limit:
                raise service_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "InvalidRequest", "Request body too large.")
        return bytes(data)

    async def discard(self, *, timeout: float = 10.0) -> None:
        """Read what the client still sends before the connection closes, so it sees our answer, not a reset.

        Skipped when the client asked ``Expect: 100-continue`` and was never told to go on (it sends nothing),
        and when it declared more than ``DRAIN_LIMIT``.
        """
        if self.finished or (self._expects_continue and not self._continued) or (self.length or 0) > DRAIN_LIMIT:
            return
        try:
            async with asyncio.timeout(timeout):
                async for _chunk in self.chunks():
                    pass
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, HttpError):
            pass

    @property
    def _expects_continue(self) -> bool:
        return self.request.headers.get("Expect", "").lower() == "100-continue"

    async def _continue(self) -> None:
        if self._expects_continue and not self._continued:
            self._continued = True
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()

    async def _sized(self, remaining: int) -> AsyncIterator[bytes]:
        while remaining > 0:
            chunk = await self.reader.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
            yield chunk

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if len(line) > _LINE_LIMIT:
                raise gateway_error(HTTPStatus.BAD_REQUEST, "Malformed chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise gateway_error(HTTPStatus.BAD_REQUEST, "Malformed chunked body") from None
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the end
                    pass
                return
            async for piece in self._sized(size):
                yield piece
            await self.reader.readexactly(2)


@dataclass(frozen=True)
class Response:
    """What is sent back: status, headers and a whole body (every REST answer here is small JSON)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        return cls(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    def encode(self) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        headers = {**self.headers, "Content-Length": str(len(self.body)), "Connection": "close"}
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def send(writer: asyncio.StreamWriter, response: Response) -> None:
    """Write a response; a client that already hung up is not an error here."""
    try:
        writer.write(response.encode())
        await writer.drain()
    except ConnectionError:
        pass
