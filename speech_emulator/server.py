"""The websocket server: which requests are let in, and a Session for each one that is.

Everything that can be refused is refused at the HTTP upgrade, before any audio is sent: an
unknown path (404), an unknown fault name (400), an injected ``reject-*`` fault, missing or
invalid credentials (401), and a session past the ``--max-sessions`` quota (429). The SDK turns
each status into a specific ``CancellationErrorCode``, which is what a client's error handling is
tested against. A plain ``GET /stats`` (no upgrade) answers with the session counters as JSON.
The REST APIs share the port (:mod:`speech_emulator.front`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from .admission import STATS_PATH, SessionCounter
from .auth import AuthError, AuthPolicy, authorize
from .faults import FAULT_AFTER_PARAMETER, FAULT_PARAMETER, Fault, FaultKind, parse_fault
from .front import Front, RestHandler
from .httpio import gateway_error, send
from .options import Route
from .session import Session
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator")

#: The SDK's paths. ``SpeechConfig(endpoint="ws://host:port")`` uses the custom-domain layout,
#: which puts ``/stt`` in front; ``SpeechConfig(host=...)`` does not.
_PATH = re.compile(
    r"^(?:/stt)?/speech/(?:recognition/(?P<mode>interactive|conversation|dictation)/cognitiveservices/v1|universal/v2)/?$"
)
#: Audio frames are a few kB; a megabyte-sized message is not something the SDK sends.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """Process-wide behaviour, fixed on the command line."""

    auth: AuthPolicy = AuthPolicy()
    stall_limit: float = 300.0
    max_sessions: int | None = None  # the concurrent-session quota; None: unlimited


#: Query parameter: end every turn after this many phrases, as the service does in long sessions,
#: so the SDK opens continuation turns and replays the audio after the last phrase.
TURN_PHRASES_PARAMETER = "turn-phrases"


def parse_route(target: str) -> Route | None:
    """The session a request path asks for, None when the path is not a Speech endpoint.

    ValueError for a malformed emulator parameter (refused with 400, like a bad fault name).
    """
    parts = urlsplit(target)
    match = _PATH.match(parts.path)
    if match is None:
        return None
    query = dict(parse_qsl(parts.query))
    turn_phrases = query.get(TURN_PHRASES_PARAMETER, "0")
    if not turn_phrases.isdigit():
        raise ValueError(f"{TURN_PHRASES_PARAMETER} must be a whole number, not {turn_phrases!r}")
    return Route(path=parts.path, mode=match.group("mode"), query=query, turn_phrases=int(turn_phrases))


def _fault(route: Route) -> Fault | None:
    return parse_fault(route.query.get(FAULT_PARAMETER), route.query.get(FAULT_AFTER_PARAMETER))


class Emulator:
    """Admission control and the session handler, sharing one recognition worker."""

    def __init__(self, settings: ServerSettings, worker: RecognitionWorker) -> None:
        self.settings = settings
        self.worker = worker
        self.sessions = SessionCounter(settings.max_sessions)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse the upgrade when the path, fault or credentials say so; None lets it through."""
        if urlsplit(request.path).path == STATS_PATH:
            return self._stats(connection)
        try:
            route = parse_route(request.path)
            if route is None:
                log.info("refused %s: unknown path", request.path)
                return connection.respond(HTTPStatus.NOT_FOUND, "Not a Speech service path\n")
            fault = _fault(route)
        except ValueError as exc:
            log.info("refused %s: %s", request.path, exc)
            return connection.respond(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        try:
            authorize(request.headers, self.settings.auth)
        except AuthError as exc:
            log.info("refused %s: 401 %s", route.path, exc)
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"{exc}\n")
        if fault is not None and fault.kind is FaultKind.REJECT:
            log.info("refused %s: %d (fault %s)", route.path, fault.code, fault.name)
            return connection.respond(fault.code, f"{fault.reason}\n")
        return None

    def process_response(self, connection: ServerConnection, request: Request, response: Response) -> Response | None:
        """Apply the quota to an upgrade that passed every other check.

        Here rather than in ``process_request``: only now is it certain that the upgrade is accepted
        (101), so a slot is taken exactly for sessions that open, and given back when the connection
        is lost, whichever way it ends (also when the handler never runs).
        """
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            return None
        if not self.sessions.admit():
            log.info("refused %s: 429 concurrent session quota (%s) reached", request.path, self.settings.max_sessions)
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests: concurrent session quota\n")
        # websockets 17 resolves this future when the TCP connection is gone, on every path.
        connection.connection_lost_waiter.add_done_callback(lambda _future: self.sessions.release())
        return None

    def _stats(self, connection: ServerConnection) -> Response:
        response = connection.respond(HTTPStatus.OK, self.sessions.to_json(**self.worker.stats()))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one accepted connection until it closes."""
        route = parse_route(ws.request.path if ws.request else "")
        if route is None:  # process_request already refused these
            return
        session = Session(ws, route, _fault(route), self.worker, stall_limit=self.settings.stall_limit)
        await session.run()


async def run_server(
    emulator: Emulator,
    host: str,
    port: int,
    *,
    stop: asyncio.Future[None],
    rest: RestHandler | None = None,
    on_ready: Callable[[Server], None] | None = None,
) -> None:
    """Serve websocket sessions and (with ``rest``) the REST APIs on one port until ``stop`` completes.

    websockets' ``serve`` builds the handshake and session handling; its accept loop is swapped for the
    front (:mod:`speech_emulator.front`), which hands each websocket connection to a ``ServerConnection``
    made exactly as ``serve`` makes them, and REST requests to ``rest``. websockets' ``Server`` still owns
    shutdown: it closes the listening socket, closes sessions with 1001 and waits for their handlers.
    """
    server = serve(
        emulator.handle,
        host,
        port,
        process_request=emulator.process_request,
        process_response=emulator.process_response,
    )
    front = Front(lambda: _connection(server), rest or _no_rest)
    loop = asyncio.get_running_loop()
    server.create_server = lambda: loop.create_server(front.protocol, host, port)
    async with server:
        if on_ready is not None:
            on_ready(server)
        await stop
        front.close()


def _connection(server: Server) -> ServerConnection:
    """A websocket connection with the options ``serve`` would give it.

    USP subprotocol; no compression (the SDK does not negotiate permessage-deflate); no keep-alive
    pings: the real service does not need them, and a client busy in a long stall test must not be
    disconnected by the emulator's own timer.
    """
    protocol = ServerProtocol(subprotocols=[Subprotocol("USP")], max_size=MAX_MESSAGE_BYTES, logger=server.logger)
    return ServerConnection(protocol, server, ping_interval=None)


async def _no_rest(_head: bytes, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await send(writer, gateway_error(HTTPStatus.NOT_FOUND, "Resource not found").response())
