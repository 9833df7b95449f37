"""Fast transcription's answer as the same ``Segment``s a real-time session gives (``shared.output.phrases``):
words and confidence only when ``words`` is on, the language only when identifying. Read defensively: a
malformed phrase is left out, never a failed recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.options import RecognitionOptions
from shared.output.phrases import milliseconds, probability, speaker_label, words_within
from shared.output.transcript import Segment


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
    duration = milliseconds(body.get("durationMilliseconds"))
    return FastResult(sorted(segments, key=lambda s: (s.start, s.end, s.speaker)), (duration or 0) / 1000)


def _segment(phrase: Any, options: RecognitionOptions, channel_mode: str) -> Segment | None:
    if not isinstance(phrase, dict) or not isinstance(phrase.get("text"), str):
        return None
    offset, duration = milliseconds(phrase.get("offsetMilliseconds")), milliseconds(phrase.get("durationMilliseconds"))
    if offset is None:
        return None
    start = round(offset / 1000, 3)
    end = round((offset + max(duration or 0, 0)) / 1000, 3)
    locale = phrase.get("locale")
    return Segment(
        speaker=speaker_label(phrase, options, channel_mode),
        start=start,
        end=end,
        text=phrase["text"],
        language=locale if options.identifies_language and isinstance(locale, str) and locale else None,
        confidence=probability(phrase.get("confidence")) if options.words else None,
        words=words_within(phrase.get("words"), start, end, "text") if options.words else None,
    )
