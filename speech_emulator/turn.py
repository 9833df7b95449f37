"""One turn of a session: a request id's audio, cut into phrases, recognised, answered.

A ``speech.context`` opens the turn, audio frames follow, an empty audio frame ends its audio.
Phrases are recognised while audio arrives (the pause splitter hands over each finished phrase),
so a long file streams. Every turn is finished with ``speech.endDetected`` + ``turn.end``, or the
SDK's stop waits ~30 s and ends in "Timeout while waiting for service to stop"; and no audio is
reported twice, also when the SDK replays it in a continuation turn.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from . import messages
from .audio import PcmDecoder
from .faults import FaultKind
from .options import TurnOptions
from .recognizer import Decoding, phrase_prompt
from .results import partial_text, phrase_text
from .vad import PauseSplitter, Segment

if TYPE_CHECKING:
    from .session import Session
    from .worker import PhraseAnalysis

log = logging.getLogger("speech_emulator.session")

#: The service's default initial-silence timeout for single-shot (interactive) recognition.
INITIAL_SILENCE_SECONDS = 5.0
#: Phrases waiting for the recogniser per turn; past this the emulator stops reading audio, so
#: a fast sender is slowed by TCP instead of filling memory with decoded audio.
MAX_QUEUED_PHRASES = 8
#: Phrases decoded together stay within one Whisper window (30 s) with room for the gaps.
MAX_BATCH_SECONDS = 25.0


@dataclass(frozen=True)
class _Fresh:
    """A phrase not reported before, with its place in the turn in ticks."""

    segment: Segment
    offset: int
    duration: int


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
            pause = self.options.recognition.silence_ms / 1000
            self.splitter = PauseSplitter(fmt.sample_rate, min_pause=pause)
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

    def _batch_limit(self) -> int | None:
        """How many phrases the next batch may hold (None: as many as fit in a Whisper window).

        Until an at-start language identification has decided, one: the first phrase's language is
        the session's, so it must be known before the next phrase is decoded.
        """
        if self.options.turn_phrases:
            return self.options.turn_phrases - self.phrases
        rec = self.options.recognition
        if rec.candidates and not rec.continuous_lid and self.session.detected_language is None:
            return 1
        return None

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
        limit = self._batch_limit()
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

    def _decoding(self) -> Decoding:
        """The recogniser's instructions for this turn's next phrases."""
        rec = self.options.recognition
        codes = tuple(rec.codes)
        prompt = phrase_prompt(rec.phrases) if rec.phrases and rec.phrase_weight > 0 else None
        locked = self.session.detected_language if rec.candidates and not rec.continuous_lid else None
        if locked is not None:
            return Decoding(language=locked, prompt=prompt, words=rec.words)
        return Decoding(language=codes[0], candidates=codes, prompt=prompt, words=rec.words)

    async def _analyse(self, fresh: list[_Fresh], nomatch: bool) -> list[PhraseAnalysis]:
        options = self.options

        async def send_partial(text: str) -> None:
            if not self.done:
                body = messages.hypothesis(
                    partial_text(text, options.recognition), fresh[0].offset, fresh[0].duration, diarize=options.diarize
                )
                await self._send("speech.hypothesis", body)

        return await self.session.worker.analyse(
            [item.segment.samples for item in fresh],
            self._rate,
            decoding=None if nomatch else self._decoding(),
            multilingual=options.recognition.multilingual,
            pitch=options.diarize and not nomatch,
            on_partial=send_partial if len(fresh) == 1 else None,
        )

    async def _phrases(self, batch: list[Segment]) -> None:
        if self._fault_due(end_of_audio=False):
            return
        session, options = self.session, self.options
        fresh = []
        for segment in batch:
            start, end = self._ticks(segment.speech_start), self._ticks(segment.speech_end)
            if options.base_ticks + end > session.acknowledged_ticks:  # else replayed: reported before
                fresh.append(_Fresh(segment, start, end - start))
        if not fresh:
            return
        nomatch = session.fault is not None and session.fault.kind is FaultKind.NOMATCH
        analyses = await self._analyse(fresh, nomatch)
        for item, analysis in zip(fresh, analyses, strict=True):
            if self.done or self._fault_due(end_of_audio=False):
                return
            if nomatch:
                await self._send("speech.phrase", messages.no_match(item.offset, item.duration))
            elif not await self._report(item, analysis, batched=len(fresh) > 1):
                continue  # noise Whisper found no words in: the service reports nothing either
            self.phrases += 1
            session.stats.phrases += 1
            end = item.offset + item.duration
            session.acknowledged_ticks = max(session.acknowledged_ticks, options.base_ticks + end)
            if self.phrases == self.options.turn_phrases:  # single-shot recognition: after the first
                await self._finish(end)
                return

    async def _report(self, item: _Fresh, analysis: PhraseAnalysis, *, batched: bool) -> bool:
        """Send one recognised phrase (and, if decoded in a batch, its hypothesis); False if empty."""
        options, session = self.options, self.session
        transcript = analysis.transcript
        rec = options.recognition
        if rec.candidates and not rec.continuous_lid:
            if session.detected_language is None and transcript.text and transcript.language:
                session.detected_language = transcript.language
            language = session.detected_language or transcript.language
        else:
            language = transcript.language or next(iter(rec.codes))
        text = phrase_text(
            transcript, rec, origin=self._ticks(item.segment.start),
            span=(item.offset, item.offset + item.duration), language=language,
        )  # fmt: skip
        if not text.display:
            return False
        if batched:  # decoded in a batch: no partial was sent while decoding
            body = messages.hypothesis(text.lexical, item.offset, item.duration, diarize=options.diarize)
            await self._send("speech.hypothesis", body)
        speaker = session.speakers.assign(analysis.pitch_hz) if options.diarize else None
        body = messages.phrase(text, item.offset, item.duration, detailed=options.detailed, speaker=speaker)
        await self._send("speech.phrase", body)
        return True

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
