"""Fast transcription's answer as the same ``Segment``s a real-time session gives: the speakers labelled alike
(``Guest-N``, a channel's name, or one ``Speaker-1``), words and confidence only when ``words`` is on, the
language only when identifying. Read defensively: a malformed phrase is left out, never a failed recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shared.options import RecognitionOptions
from shared.output.transcript import Segment, Word

#: The label of every segment with diarization off: the real-time session's (``shared.speech.segments``).
SINGLE_SPEAKER = "Speaker-1"


@dataclass(frozen=True)
class FastResult:
    """The segments, in time order, and the length of audio the service says it transcribed."""

    segments: list[Segment]
    seconds: float


def fast_result(answer: object, options: RecognitionOptions, channel_mode: str) -> FastResult:
    """``answer`` (the response's JSON) as segments; ``channel_mode`` says how speakers were asked for."""
    body = answer if isinstance(answer, dict) else {}
    phrases = body.get("phrases") if isinstance(body.get("phrases"), list) else []
    segments = [s for s in (_segment(p, options, channel_mode) for p in phrases) if s is not None]
    duration = _milliseconds(body.get("durationMilliseconds"))
    return FastResult(sorted(segments, key=lambda s: (s.start, s.end, s.speaker)), (duration or 0) / 1000)


def _segment(phrase: Any, options: RecognitionOptions, channel_mode: str) -> Segment | None:
    if not isinstance(phrase, dict) or not isinstance(phrase.get("text"), str):
        return None
    offset, duration = (
        _milliseconds(phrase.get("offsetMilliseconds")),
        _milliseconds(phrase.get("durationMilliseconds")),
    )
    if offset is None:
        return None
    start = round(offset / 1000, 3)
    end = round((offset + max(duration or 0, 0)) / 1000, 3)
    locale = phrase.get("locale")
    return Segment(
        speaker=_speaker(phrase, options, channel_mode),
        start=start,
        end=end,
        text=phrase["text"],
        language=locale if options.identifies_language and isinstance(locale, str) and locale else None,
        confidence=_probability(phrase.get("confidence")) if options.words else None,
        words=_words(phrase.get("words"), start, end) if options.words else None,
    )


def _speaker(phrase: dict, options: RecognitionOptions, channel_mode: str) -> str:
    """A channel's name or ``Channel-N`` apart; ``Guest-N`` diarized, as the real-time session labels them."""
    if channel_mode == "separate":
        channel = phrase.get("channel")
        index = channel if isinstance(channel, int) and not isinstance(channel, bool) and channel >= 0 else 0
        names = options.channel_names
        return names[index] if index < len(names) else f"Channel-{index + 1}"
    if not options.diarization:
        return SINGLE_SPEAKER
    speaker = phrase.get("speaker")
    return f"Guest-{speaker}" if isinstance(speaker, int) and not isinstance(speaker, bool) else "Unknown"


def _words(found: object, start: float, end: float) -> tuple[Word, ...]:
    """Each word with its time, kept inside its segment and in time order; the API gives words no confidence."""
    words = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"]:
            continue
        offset = _milliseconds(entry.get("offsetMilliseconds"))
        if offset is None:
            continue
        length = max(_milliseconds(entry.get("durationMilliseconds")) or 0, 0)
        word_start = min(max(round(offset / 1000, 3), start), end)
        word_end = min(max(round((offset + length) / 1000, 3), word_start), end)
        words.append(Word(entry["text"], word_start, word_end))
    return tuple(sorted(words, key=lambda word: word.start))


def _milliseconds(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _probability(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None
