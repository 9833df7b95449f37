"""One websocket session: turns, audio, phrases, faults.

A session is one SDK connection. It carries one or more *turns*, each named by the client's
``X-RequestId``: a ``speech.context`` opens it, audio frames follow, an empty audio frame ends
its audio. The conversation transcriber opens a *continuation* turn after every ``turn.end``;
every turn must be answered with ``speech.endDetected`` + ``turn.end`` or the SDK's stop waits
~30 s and ends in "Timeout while waiting for service to stop". Phrases are recognised while
audio arrives (the pause splitter hands over each finished phrase), so a long file streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import messages
from .audio import PcmDecoder, UnsupportedAudioError
from .faults import Fault, FaultKind
from .protocol import ProtocolError, TextMessage, encode, parse_binary, parse_text
from .recognizer import lexical
from .speakers import SpeakerClusters
from .vad import PauseSplitter, Segment
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator.session")

#: The service's default initial-silence timeout for single-shot (interactive) recognition.
INITIAL_SILENCE_SECONDS = 5.0
#: Phrases waiting for the recogniser per turn; past this the emulator stops reading audio, so
#: a fast sender is slowed by TCP instead of filling memory with decoded audio.
MAX_QUEUED_PHRASES = 8
#: Phrases decoded together stay within one Whisper window (30 s) with room for the gaps.
MAX_BATCH_SECONDS = 25.0


@dataclass(frozen=True)
class Route:
    """What the upgrade request's URL says about the session."""

    path: str
    mode: str | None  # interactive / conversation / dictation from the v1 path; None for universal/v2
    query: dict[str, str]
    turn_phrases: int = 0  # from the turn-phrases query parameter


@dataclass(frozen=True)
class TurnOptions:
    """Per-turn settings: the ``speech.context`` wins over the URL (``endpoint=`` sends no query)."""

    mode: str
    language: str
    detailed: bool
    diarize: bool
    base_ticks: int  # where this turn's audio starts in the session (continuation turns)
    turn_phrases: int  # end the turn after this many phrases (0: at the end of the audio)

    @classmethod
    def from_context(cls, context: dict[str, Any], route: Route) -> TurnOptions:
        detection = context.get("phraseDetection") or {}
        output = context.get("phraseOutput") or {}
        mode = str(detection.get("mode") or route.mode or "conversation").lower()
        language = str(detection.get("language") or route.query.get("language") or "en-US")
        detailed = str(output.get("format") or route.query.get("format") or "simple").lower() == "detailed"
        diarization = detection.get("speakerDiarization")
        return cls(
            mode=mode,
            language=language,
            detailed=detailed,
            diarize=diarization is not None,
            base_ticks=_turn_offset(context),
            turn_phrases=1 if mode == "interactive" else route.turn_phrases,
        )


def _turn_offset(context: dict[str, Any]) -> int:
    """A continuation turn's start in the session, in ticks (0 for a first turn)."""
    try:
        streams = ((context.get("continuation") or {}).get("audio") or {}).get("streams") or {}
        for stream in streams.values():
            if isinstance(stream, dict) and "offset" in stream:
                return int(stream["offset"])
        diarization = (context.get("phraseDetection") or {}).get("speakerDiarization") or {}
        return int(diarization.get("audioOffsetMS") or 0) * 10_000
    except (AttributeError, TypeError, ValueError) as exc:
        raise ProtocolError(f"speech.context: unreadable audio offset: {exc}") from exc


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
                "fault=%s close=%s outcome=%s",
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


@dataclass
class Turn:
    """One request id's audio and answers."""

    session: Session
    request_id: str
    options: TurnOptions
    decoder: PcmDecoder = field(default_factory=PcmDecoder)
    splitter: PauseSplitter | None = None
    done: bool = False  # turn.end sent, or the turn was given up: later audio is read and dropped
    audio_ended: bool = False
    phrases: int = 0
    _start_sent: bool = False
    task: asyncio.Task[None] | None = None
    _held: Segment | None = None  # taken from the queue for the next batch
    _end_held: bool = False  # the end-of-audio marker was taken from the queue
    _queue: asyncio.Queue[Segment | None] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED_PHRASES))

    @property
    def interactive(self) -> bool:
        return self.options.mode == "interactive"

    def abandon(self) -> None:
        """The client opened another turn: stop answering this one and free what it holds."""
        self.done = self.audio_ended = True
        if self.task is not None:
            self.task.cancel()

    async def feed(self, payload: bytes) -> None:
        """Take one audio frame; finished phrases go to the worker (waits while it is behind)."""
        if self.audio_ended:
            return
        if not payload:
            self.audio_ended = True
            if self.splitter is not None and not self.done:
                for segment in self.splitter.flush():
                    await self._queue.put(segment)
            await self._queue.put(None)
            return
        samples = self.decoder.decode(payload)
        if self.decoder.format is None or self.done:
            return
        if self.splitter is None:
            fmt = self.decoder.format
            self.splitter = PauseSplitter(fmt.sample_rate)
            self.session.stats.audio_format = f"{fmt.sample_rate}Hz/{fmt.channels}ch"
        segments = self.splitter.feed(samples)
        reached = self.options.base_ticks / messages.TICKS_PER_SECOND + self.splitter.samples_seen / self._rate
        self.session.stats.audio_seconds = max(self.session.stats.audio_seconds, reached)
        if not self._start_sent and self.splitter.speech_onset is not None:
            self._start_sent = True
            await self._send("speech.startDetected", messages.offset_only(self._ticks(self.splitter.speech_onset)))
        for segment in segments:
            await self._queue.put(segment)
        silent_for = self.splitter.samples_seen / self.splitter.sample_rate
        if self.interactive and self.splitter.speech_onset is None and silent_for >= INITIAL_SILENCE_SECONDS:
            await self._finish_without_speech("InitialSilenceTimeout")

    async def work(self) -> None:
        """Recognise queued phrases in order, then finish the turn at the end of its audio."""
        try:
            while batch := await self._next_batch():
                if not self.done:
                    await self._phrases(batch)
            if not self.done:
                await self._end_of_audio()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("turn %s failed", self.request_id)
            self.session.stats.outcome = "error"
            self.session.close(1011, "emulator error")

    async def _next_batch(self) -> list[Segment]:
        """The next phrase plus any that queued up behind it ([] at the end of the audio).

        Phrases wait in the queue only when audio arrives faster than they are recognised; then
        decoding them together is what keeps up. Single-shot recognition needs just one.
        """
        if self._held is not None:
            first, self._held = self._held, None
        elif self._end_held:
            return []
        else:
            first = await self._queue.get()
        if first is None:
            return []
        batch = [first]
        seconds = len(first.samples) / self._rate
        limit = self.options.turn_phrases - self.phrases if self.options.turn_phrases else None
        while (limit is None or len(batch) < limit) and not self._queue.empty():
            following = self._queue.get_nowait()
            if following is None:
                self._end_held = True
                break
            if seconds + len(following.samples) / self._rate > MAX_BATCH_SECONDS:
                self._held = following  # it starts the next batch
                break
            batch.append(following)
            seconds += len(following.samples) / self._rate
        return batch

    def _fault_due(self, *, end_of_audio: bool) -> bool:
        """Fire a mid-stream fault before phrase ``after_phrases`` + 1, or at the end of the audio."""
        fault = self.session.fault
        if fault is None or fault.kind not in (FaultKind.CLOSE, FaultKind.STALL):
            return False
        if self.session.stats.phrases < fault.after_phrases and not end_of_audio:
            return False
        self.done = True
        self.session.inject(fault)
        return True

    async def _phrases(self, batch: list[Segment]) -> None:
        if self._fault_due(end_of_audio=False):
            return
        session, options = self.session, self.options
        spans = [(self._ticks(s.speech_start), self._ticks(s.speech_end)) for s in batch]
        fresh = [
            (segment, start, end - start)
            for segment, (start, end) in zip(batch, spans, strict=True)
            if options.base_ticks + end > session.acknowledged_ticks  # else replayed: reported before
        ]
        if not fresh:
            return
        nomatch = session.fault is not None and session.fault.kind is FaultKind.NOMATCH
        single = len(fresh) == 1

        async def send_partial(text: str) -> None:
            if not self.done:
                _segment, offset, duration = fresh[0]
                body = messages.hypothesis(lexical(text), offset, duration, diarize=options.diarize)
                await self._send("speech.hypothesis", body)

        analyses = await session.worker.analyse(
            [segment.samples for segment, _offset, _duration in fresh],
            self._rate,
            transcribe=not nomatch,
            pitch=options.diarize and not nomatch,
            on_partial=send_partial if single else None,
        )
        for (_segment, offset, duration), analysis in zip(fresh, analyses, strict=True):
            if self.done or self._fault_due(end_of_audio=False):
                return
            text = analysis.transcript.text
            if nomatch:
                await self._send("speech.phrase", messages.no_match(offset, duration))
            elif text:
                if not single:  # decoded in a batch: no partial was sent while decoding
                    body = messages.hypothesis(lexical(text), offset, duration, diarize=options.diarize)
                    await self._send("speech.hypothesis", body)
                speaker = session.speakers.assign(analysis.pitch_hz) if options.diarize else None
                body = messages.phrase(
                    analysis.transcript, offset, duration, detailed=options.detailed, speaker=speaker
                )
                await self._send("speech.phrase", body)
            else:
                continue  # noise Whisper found no words in: the service reports nothing either
            self.phrases += 1
            session.stats.phrases += 1
            session.acknowledged_ticks = max(session.acknowledged_ticks, options.base_ticks + offset + duration)
            if self.phrases == self.options.turn_phrases:  # single-shot recognition: after the first
                await self._finish(offset + duration)
                return

    async def _end_of_audio(self) -> None:
        if self._fault_due(end_of_audio=True):
            return
        end = messages.ticks_ceil_ms(self.splitter.samples_seen if self.splitter else 0, self._rate)
        if self.interactive:
            await self._finish_without_speech("NoMatch" if self._start_sent else "InitialSilenceTimeout")
            return
        await self._send("speech.phrase", messages.end_of_dictation(end))
        self.session.acknowledged_ticks = max(self.session.acknowledged_ticks, self.options.base_ticks + end)
        await self._finish(end)

    async def _finish_without_speech(self, status: str) -> None:
        """Single-shot recognition that heard nothing: a NoMatch result, then the turn ends."""
        if self.done:
            return
        seen = self.splitter.samples_seen if self.splitter else 0
        end = self._ticks(seen)
        await self._send("speech.phrase", messages.no_match(0, end, status=status))
        await self._finish(end)

    async def _finish(self, end_ticks: int) -> None:
        self.done = True
        await self._send("speech.endDetected", messages.offset_only(end_ticks))
        await self._send("turn.end", {})

    async def _send(self, path: str, body: dict[str, Any]) -> None:
        await self.session.send(path, self.request_id, body)

    @property
    def _rate(self) -> int:
        return self.splitter.sample_rate if self.splitter else 16000

    def _ticks(self, samples: int) -> int:
        return messages.ticks(samples, self._rate)
