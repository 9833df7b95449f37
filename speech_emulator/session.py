"""One websocket session: its frames, its turns, what it sends back, its faults, its log line.

A session is one SDK connection. It carries one or more *turns* (:mod:`speech_emulator.turn`),
each named by the client's ``X-RequestId``. The conversation transcriber opens a *continuation*
turn after every ``turn.end``; what must survive from turn to turn (audio already reported, the
speakers, an at-start identified language) lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import messages
from .audio import UnsupportedAudioError
from .faults import Fault, FaultKind
from .options import Route, TurnOptions
from .protocol import ProtocolError, TextMessage, encode, parse_binary, parse_text
from .speakers import SpeakerClusters
from .turn import Turn
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator.session")


@dataclass
class SessionStats:
    """What the one log line per session reports."""

    audio_seconds: float = 0.0  # how far into the session's audio the client got (replays not counted twice)
    phrases: int = 0
    turns: int = 0
    language: str = ""
    mode: str = ""
    audio_format: str = "-"
    outcome: str = "ok"
    options: str = "-"  # the recognition options that differ from the defaults


class Session:
    """Serves one SDK connection from its first frame to its close."""

    def __init__(
        self,
        ws: ServerConnection,
        route: Route,
        fault: Fault | None,
        worker: RecognitionWorker,
        *,
        stall_limit: float,
    ) -> None:
        self.ws = ws
        self.route = route
        self.fault = fault
        self.worker = worker
        self.stall_limit = stall_limit
        self.speakers = SpeakerClusters()
        self.stats = SessionStats(language=route.query.get("language", ""), mode=route.mode or "")
        self.acknowledged_ticks = 0  # session audio reported so far: never report it twice
        self.detected_language: str | None = None  # at-start identification: the first phrase's language
        self.stalled = False
        self.closing = False
        self.closed_with: int | None = None  # the code this side closed with, for the log
        self._turns: dict[str, Turn] = {}
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Read frames until the client goes away; always log one summary line."""
        started = time.monotonic()
        try:
            # Keep reading even while closing: a reader that stops leaves websockets' inbound queue
            # full, it then stops reading the socket and never sees the client's close frame.
            async for frame in self.ws:
                if self.closing:
                    continue
                try:
                    await self._dispatch(frame)
                except (ProtocolError, UnsupportedAudioError) as exc:
                    self.stats.outcome = f"rejected: {exc}"
                    self.close(1007, str(exc))
        except ConnectionClosed:
            pass
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._turns.clear()
            code = self.closed_with if self.closed_with is not None else self.ws.close_code
            log.info(
                "session path=%s mode=%s language=%s format=%s audio=%.2fs phrases=%d turns=%d duration=%.2fs "
                "fault=%s close=%s outcome=%s options=%s",
                self.route.path,
                self.stats.mode or "-",
                self.stats.language or "-",
                self.stats.audio_format,
                self.stats.audio_seconds,
                self.stats.phrases,
                self.stats.turns,
                time.monotonic() - started,
                self.fault.name if self.fault else "none",
                code if code is not None else "-",
                self.stats.outcome,
                self.stats.options,
            )

    async def _dispatch(self, frame: str | bytes) -> None:
        if isinstance(frame, str):
            message = parse_text(frame)
            if message.path.lower() == "speech.context":
                await self._open_turn(message)
            return  # speech.config, telemetry, ...: nothing to answer
        audio = parse_binary(frame)
        if audio.path.lower() != "audio" or audio.request_id is None:
            return
        turn = self._turns.get(audio.request_id)
        if turn is None:  # audio without a speech.context: answer with defaults, like the service
            turn = await self._open_turn(TextMessage("speech.context", audio.request_id, ""))
            if turn is None:
                return
        await turn.feed(audio.payload)

    async def _open_turn(self, message: TextMessage) -> Turn | None:
        if self.fault is not None and self.fault.kind is FaultKind.BAD_REQUEST:
            self.stats.outcome = "fault"
            self.close(self.fault.code, self.fault.reason)
            return None
        request_id = message.request_id or uuid.uuid4().hex
        options = TurnOptions.from_context(message.json(), self.route)
        self.stats.mode, self.stats.language = options.mode, options.language
        self.stats.options = options.recognition.summary()
        self.stats.turns += 1
        for old in self._turns.values():
            old.abandon()  # the client moved on; a turn it no longer listens to must not block audio
        turn = Turn(self, request_id, options)
        self._turns = {request_id: turn}
        await self.send("turn.start", request_id, messages.turn_start(uuid.uuid4().hex))
        turn.task = self.spawn(turn.work())
        return turn

    def spawn(self, coroutine: Any) -> asyncio.Task[None]:
        """Run a task owned by this session (cancelled when the session ends)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send(self, path: str, request_id: str, body: dict[str, Any]) -> None:
        """Send one message in order; silently nothing once stalled or closed."""
        async with self._send_lock:  # FIFO: a hypothesis never overtakes its phrase
            if self.stalled or self.closing or self.ws.close_code is not None:
                return
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(encode(path, request_id, body))

    def close(self, code: int, reason: str) -> None:
        """Start closing with ``code``; messages already being sent go first.

        Not awaited by the caller: the closing handshake can take the client's time, and the
        receive loop has to go on reading meanwhile.
        """
        if self.closing:
            return
        self.closing = True
        self.closed_with = code
        self.spawn(self._close(code, reason.encode("utf-8")[:120].decode("utf-8", "ignore")))

    async def _close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            await self.ws.close(code, reason)

    def inject(self, fault: Fault) -> None:
        """Act on a mid-stream fault."""
        self.stats.outcome = "fault"
        if fault.kind is FaultKind.STALL:
            self.stalled = True
            self.spawn(self._end_stall())
        else:
            self.close(fault.code, fault.reason)

    async def _end_stall(self) -> None:
        """A stalled session is dropped eventually, so a client that never gives up cannot pin it."""
        await asyncio.sleep(self.stall_limit)
        self.stalled = False
        self.close(1011, f"stalled for {self.stall_limit:g} s (fault injected)")
