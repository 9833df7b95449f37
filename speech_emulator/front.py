"""One port for both protocols: websocket upgrades to the websockets server, REST requests to the REST API.

The real service answers the Speech SDK's websocket and the REST APIs (fast and batch transcription) on
one host, and the product keeps one ``SPEECH_ENDPOINT`` for all of them. websockets' server parses a
request head but never a body, so it cannot take a multipart upload. Here each new connection is held by
a small protocol only until its request head is complete; then the transport is handed over, with the
bytes already read:

- a path under ``/speechtotext/`` or ``/emulator/``: to an asyncio stream pair and the REST handler;
- anything else (upgrades, ``GET /stats``, unknown paths): to a websockets ``ServerConnection``, as if
  websockets had accepted it itself, so its handshake, ``process_request`` and the quota run unchanged.

The handover moves the transport to another protocol object (``transport.set_protocol``): no proxy, no
second socket, no copy of the websocket stream; the only added work per session is one search for the
end of the head.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("speech_emulator.front")

#: Paths served by the REST API; websocket paths never start so.
REST_PREFIXES = (b"/speechtotext/", b"/emulator/")
#: A request head larger than this is refused by closing (websockets' own limit is of the same order).
HEAD_LIMIT = 64 * 1024
#: A client that has not sent a whole request head by then is dropped (websockets' open timeout).
HEAD_TIMEOUT = 10.0

#: ``(head, reader, writer)``: the request head with its blank line, then the connection as streams.
RestHandler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def is_rest(head: bytes) -> bool:
    """Whether a request head names a REST path (``POST /speechtotext/transcriptions:transcribe?...``)."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return len(parts) == 3 and parts[1].startswith(REST_PREFIXES)


class Front:
    """Accepts every connection on the port and hands it to the protocol its request asks for."""

    def __init__(self, websocket: Callable[[], asyncio.Protocol], rest: RestHandler) -> None:
        self._websocket = websocket
        self._rest = rest
        self._rest_connections: dict[asyncio.Task[None], asyncio.BaseTransport] = {}

    def protocol(self) -> asyncio.Protocol:
        """The protocol factory for ``loop.create_server``."""
        return _HeadReader(self)

    def to_websocket(self, transport: asyncio.Transport, data: bytes) -> None:
        connection = self._websocket()
        transport.set_protocol(connection)
        connection.connection_made(transport)
        connection.data_received(data)

    def to_rest(self, transport: asyncio.Transport, head: bytes, rest: bytes) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=HEAD_LIMIT, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if rest:
            reader.feed_data(rest)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        task = loop.create_task(self._serve(head, reader, writer))
        self._rest_connections[task] = transport
        task.add_done_callback(self._rest_connections.pop)

    async def _serve(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._rest(head, reader, writer)
        except Exception:
            log.exception("REST request failed")
        finally:
            writer.close()

    def close(self) -> None:
        """Drop every REST connection (a held upload, a silent fault) so the server can close at once."""
        for task, transport in list(self._rest_connections.items()):
            task.cancel()
            transport.abort()


def _could_be_http(received: bytes) -> bool:
    """Whether the first bytes can start a request line: an upper-case method, then a space."""
    method = received[:8].split(b" ", 1)[0]
    return method.isalpha() and method.isupper() if b" " in received[:8] else received[:8].isalpha()


class _HeadReader(asyncio.Protocol):
    """A new connection's first protocol: reads until the end of the request head, then hands over."""

    def __init__(self, front: Front) -> None:
        self._front = front
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._timer = asyncio.get_running_loop().call_later(HEAD_TIMEOUT, transport.abort)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not _could_be_http(self._buffer):  # a TLS hello on this plain port, or noise: websockets refuses
            self._stop()  # it at once, as before there was a front; waiting for a head would stall the client
            received = bytes(self._buffer)
            self._buffer.clear()
            assert self._transport is not None
            self._front.to_websocket(self._transport, received)
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > HEAD_LIMIT:
                self._stop()
                assert self._transport is not None
                self._transport.abort()
            return
        self._stop()
        received, end = bytes(self._buffer), end + 4
        self._buffer.clear()
        assert self._transport is not None
        if is_rest(received[:end]):
            self._front.to_rest(self._transport, received[:end], received[end:])
        else:
            self._front.to_websocket(self._transport, received)

    def eof_received(self) -> bool:
        self._stop()
        return False  # close: the client hung up before a whole request

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
