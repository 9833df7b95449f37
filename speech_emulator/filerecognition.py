"""A whole recording through the session's recognisers: what the REST APIs (fast and batch) transcribe with.

The same pieces as a websocket session, in file order: PyAV decodes (:mod:`speech_emulator.audiofile`),
the pause splitter cuts phrases, the recognition worker decodes them off the event loop (phrases that
queue up in one Whisper pass), pitch clustering labels speakers, and profanity is filtered in every form.
Only the bookkeeping is the REST APIs': milliseconds from the start of the file, a channel per phrase when
channels are transcribed separately, speakers numbered from 1, a locale on every phrase.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import profanity
from .audio import WHISPER_RATE
from .audiofile import blocks
from .languages import candidate_codes
from .recognizer import Decoding, WordTiming, lexical, phrase_prompt
from .speakers import SpeakerClusters
from .vad import PauseSplitter, Segment
from .worker import PhraseAnalysis, RecognitionWorker

#: Phrases decoded together stay within one Whisper window (30 s), as in a websocket turn.
MAX_BATCH_SECONDS = 25.0


class AudioTooLongError(ValueError):
    """The recording is longer than the API accepts."""


@dataclass(frozen=True)
class FileRequest:
    """What to transcribe and how: the options both REST APIs share."""

    locales: tuple[str, ...] = ("en-US",)  # identification among them when there are several
    continuous_lid: bool = True  # a language per phrase; False: the first phrase's for the whole file
    channels: tuple[int, ...] = ()  # transcribed separately; () mixes the channels down
    diarize: bool = False
    max_speakers: int | None = None
    profanity: profanity.Profanity = "masked-initial"
    phrases: tuple[str, ...] = ()  # the phrase list, as Whisper's prompt
    max_seconds: float | None = None  # refuse longer audio (AudioTooLongError)

    @property
    def codes(self) -> dict[str, str]:
        """Whisper code → the locale it is reported as (ValueError for a locale Whisper cannot decode)."""
        return candidate_codes(self.locales)


@dataclass(frozen=True)
class FileWord:
    """One word: as shown (punctuation kept) and lexical, with its place in the file."""

    display: str
    lexical: str
    offset_ms: int
    duration_ms: int
    confidence: float


@dataclass(frozen=True)
class FilePhrase:
    channel: int
    speaker: int | None
    offset_ms: int
    duration_ms: int
    display: str
    lexical: str
    words: tuple[FileWord, ...]
    locale: str
    confidence: float


@dataclass(frozen=True)
class FileTranscript:
    duration_ms: int
    channels: tuple[int, ...]  # the channels transcribed, in order (``(0,)`` when mixed down)
    phrases: tuple[FilePhrase, ...]


@dataclass
class _State:
    """What carries from phrase to phrase: speakers per channel, a language locked by the first phrase."""

    request: FileRequest
    speakers: dict[int, SpeakerClusters] = field(default_factory=dict)
    locked: str | None = None

    def decoding(self) -> Decoding:
        codes = tuple(self.request.codes)
        prompt = phrase_prompt(self.request.phrases) if self.request.phrases else None
        if self.locked is not None:
            return Decoding(language=self.locked, prompt=prompt, words=True)
        return Decoding(language=codes[0], candidates=codes if len(codes) > 1 else (), prompt=prompt, words=True)

    def speaker(self, channel: int, pitch: float | None) -> int | None:
        if not self.request.diarize:
            return None
        clusters = self.speakers.setdefault(channel, SpeakerClusters(max_speakers=self.request.max_speakers))
        return int(clusters.assign(pitch).removeprefix("Guest-"))


async def transcribe_file(path: Path, request: FileRequest, worker: RecognitionWorker) -> FileTranscript:
    """Decode, cut, recognise: the whole file's phrases in time order.

    Raises ``UndecodableAudioError`` and ``AudioTooLongError`` (the caller maps them to the API's errors).
    """
    loop = asyncio.get_running_loop()
    state = _State(request)
    source = _segments(path, request)
    phrases: list[FilePhrase] = []
    batch: list[tuple[int, Segment]] = []
    total = 0
    while (item := await loop.run_in_executor(None, next, source, None)) is not None:
        if isinstance(item, int):
            total = item
            break
        batch.append(item)
        if _full(batch, state):
            phrases += await _recognise(batch, state, worker)
            batch = []
    if batch:
        phrases += await _recognise(batch, state, worker)
    phrases.sort(key=lambda p: (p.offset_ms, p.channel))
    channels = request.channels or (0,)
    return FileTranscript(duration_ms=total * 1000 // WHISPER_RATE, channels=channels, phrases=tuple(phrases))


def _full(batch: list[tuple[int, Segment]], state: _State) -> bool:
    """Decode now: the batch fills a Whisper window, or the first phrase must fix the file's language."""
    if len(state.request.codes) > 1 and not state.request.continuous_lid and state.locked is None:
        return True
    return sum(len(s.samples) for _, s in batch) / WHISPER_RATE >= MAX_BATCH_SECONDS


def _segments(path: Path, request: FileRequest) -> Iterator[tuple[int, Segment] | int]:
    """Phrases as ``(channel, segment)`` while decoding (in a worker thread); last, the file's length in samples."""
    wanted = request.channels or (0,)
    splitters: dict[int, PauseSplitter] = {}
    seen = 0
    limit = request.max_seconds * WHISPER_RATE if request.max_seconds else None
    for block in blocks(path, separate=bool(request.channels)):
        for channel in wanted:
            if channel < len(block):
                splitter = splitters.setdefault(channel, PauseSplitter(WHISPER_RATE))
                yield from ((channel, segment) for segment in splitter.feed(block[channel]))
        seen += block.shape[1]
        if limit is not None and seen > limit:
            raise AudioTooLongError(f"The audio is longer than {request.max_seconds / 60:g} minutes.")
    for channel, splitter in splitters.items():
        yield from ((channel, segment) for segment in splitter.flush())
    yield seen


async def _recognise(batch: list[tuple[int, Segment]], state: _State, worker: RecognitionWorker) -> list[FilePhrase]:
    analyses = await worker.analyse(
        [segment.samples for _, segment in batch],
        WHISPER_RATE,
        decoding=state.decoding(),
        multilingual=set(state.request.codes) != {"en"},
        pitch=state.request.diarize,
    )
    phrases = []
    for (channel, segment), analysis in zip(batch, analyses, strict=True):
        phrase = _phrase(channel, segment, analysis, state)
        if phrase is not None:
            phrases.append(phrase)
    return phrases


def _phrase(channel: int, segment: Segment, analysis: PhraseAnalysis, state: _State) -> FilePhrase | None:
    """One recognised phrase in the API's terms; None when Whisper found no words (noise)."""
    transcript, request = analysis.transcript, state.request
    mode = request.profanity
    display = profanity.filter_text(transcript.text, mode)
    if not re.search(r"\w", display):
        return None
    if transcript.language and len(request.codes) > 1 and not request.continuous_lid and state.locked is None:
        state.locked = transcript.language
    language = state.locked or transcript.language or next(iter(request.codes))
    start, end = _ms(segment.speech_start), _ms(segment.speech_end)
    return FilePhrase(
        channel=channel,
        speaker=state.speaker(channel, analysis.pitch_hz),
        offset_ms=start,
        duration_ms=end - start,
        display=display,
        lexical=profanity.filter_text(lexical(transcript.text), mode),
        words=_words(transcript.words, mode, origin=_ms(segment.start), span=(start, end)),
        locale=request.codes.get(language, request.locales[0]),
        confidence=transcript.confidence,
    )


def _words(
    timings: tuple[WordTiming, ...], mode: profanity.Profanity, *, origin: int, span: tuple[int, int]
) -> tuple[FileWord, ...]:
    """Words inside their phrase, never going backwards (Whisper's times can reach into the padding)."""
    start, end = span
    out: list[FileWord] = []
    cursor = start
    for timing in timings:
        shown = profanity.filter_text(timing.text.strip(), mode)
        if not re.search(r"\w", shown):
            continue  # punctuation only, or a removed word
        offset = min(max(origin + round(timing.start * 1000), cursor), end)
        finish = min(max(origin + round(timing.end * 1000), offset), end)
        confidence = round(min(1.0, max(0.0, timing.probability)), 4)
        out.append(
            FileWord(shown, profanity.filter_text(lexical(timing.text), mode), offset, finish - offset, confidence)
        )
        cursor = finish
    return tuple(out)


def _ms(samples: int) -> int:
    return samples * 1000 // WHISPER_RATE
