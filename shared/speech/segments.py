"""One final result of the Speech service turned into a ``Segment``: text, times, speaker, and what the
detailed result adds (confidence, timed words, language). Its JSON is read defensively: a missing or
malformed field gives a segment without it, never a failed session.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import azure.cognitiveservices.speech as speechsdk

from shared.output.transcript import Segment, Word

#: The SDK's offsets and durations are in 100-ns ticks from the start of the audio session.
TICKS_PER_SECOND = 10_000_000
#: A tick count sent as text: ASCII digits, one optional sign. ``str.isdigit`` would let ``"²"`` through and
#: ``lstrip("-")`` would let ``"--5"`` through, and ``int()`` raising inside the SDK's callback loses the result.
_TICKS_TEXT = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class SegmentFields:
    """What a session reports per segment beyond text and times; ``speaker=None`` keeps the service's labels."""

    words: bool = False
    language: bool = False
    speaker: str | None = None


def segment_from_result(result: speechsdk.RecognitionResult, fields: SegmentFields) -> Segment:
    """The segment a recognised final result stands for (the caller checked it is recognised speech)."""
    start_ticks, duration_ticks = result.offset, result.duration
    start = round(start_ticks / TICKS_PER_SECOND, 3)
    end = round((start_ticks + duration_ticks) / TICKS_PER_SECOND, 3)
    detail = _detailed(result)
    best = _best(detail)
    words = None
    if fields.words:
        # The JSON's offsets are the service's; the result's are the SDK's, which counts from the start of
        # the session across reconnections. The difference (0 when they agree) moves the words with it.
        shift = start_ticks - _ticks(detail.get("Offset"), default=start_ticks)
        words = _words(best.get("Words"), shift, start, end)
    return Segment(
        speaker=fields.speaker or result.speaker_id or "Unknown",
        start=start,
        end=end,
        text=result.text,
        language=_language(result, detail) if fields.language else None,
        confidence=_probability(best.get("Confidence")),
        words=words,
    )


def _detailed(result: speechsdk.RecognitionResult) -> dict[str, Any]:
    """The result's JSON as the service sent it; ``{}`` when there is none or it does not parse."""
    try:
        detail = json.loads(result.json or "{}")
    except (TypeError, ValueError):
        return {}
    return detail if isinstance(detail, dict) else {}


def _best(detail: dict[str, Any]) -> dict[str, Any]:
    """``NBest[0]``, the alternative the SDK shows as the text; ``{}`` for a simple-format result."""
    nbest = detail.get("NBest")
    if isinstance(nbest, list) and nbest and isinstance(nbest[0], dict):
        return nbest[0]
    return {}


def _words(found: object, shift: int, start: float, end: float) -> tuple[Word, ...]:
    """``NBest[0].Words`` as ``Word``s in seconds (to the ms), kept inside their segment and sorted by start, so
    neither rounding nor the service's order can break them; an entry without a word or offset is left out."""
    if not isinstance(found, list):
        return ()
    words: list[Word] = []
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("Word"), str) or not entry["Word"]:
            continue
        offset = _ticks(entry.get("Offset"))
        if offset is None:
            continue
        duration = max(_ticks(entry.get("Duration"), default=0) or 0, 0)
        word_start = min(max(round((offset + shift) / TICKS_PER_SECOND, 3), start), end)
        word_end = min(max(round((offset + shift + duration) / TICKS_PER_SECOND, 3), word_start), end)
        words.append(Word(entry["Word"], word_start, word_end, _probability(entry.get("Confidence"))))
    return tuple(sorted(words, key=lambda word: word.start))


def _language(result: speechsdk.RecognitionResult, detail: dict[str, Any]) -> str | None:
    """The locale the service identified for this phrase (``PrimaryLanguage.Language``, as the SDK surfaces it)."""
    language = speechsdk.AutoDetectSourceLanguageResult(result).language
    if not language:
        primary = detail.get("PrimaryLanguage")
        language = primary.get("Language") if isinstance(primary, dict) else None
    return language if isinstance(language, str) and language else None


def _ticks(value: object, default: int | None = None) -> int | None:
    """A tick count from the JSON (an integer, sometimes sent as a string), or ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _TICKS_TEXT.fullmatch(value.strip()):
        return int(value)
    return default


def _probability(value: object) -> float | None:
    """A confidence in [0, 1], or ``None`` when the service gave none (or something else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if 0.0 <= number <= 1.0 else None
