"""A REST engine's answer (fast or batch transcription) read into a ``Segment``'s parts the way a real-time
session labels them: the speaker (``Guest-N``, a channel's name, or one ``Speaker-1``), the words kept inside
their phrase and in time order, numbers read defensively (a malformed value is left out, never a failure);
and the truncation warning, from the length the service heard.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from shared.options import RecognitionOptions
from shared.output.transcript import Segment, Word

#: Every segment's label with diarization off, whatever the engine: the real-time transcriber still tells voices
#: apart (it cannot be told not to), so the label is set for it.
SINGLE_SPEAKER = "Speaker-1"


@dataclass(frozen=True)
class RestResult:
    """The segments, in time order, and the length of audio the service says it transcribed."""

    segments: list[Segment]
    seconds: float


def read_phrases(body: object, key: str, segment: Callable[[object], Segment | None]) -> RestResult:
    """The phrases listed under ``key`` in ``body`` as segments (``segment`` reads one, ``None`` to leave it out),
    in time order, with the body's ``durationMilliseconds``."""
    body = body if isinstance(body, dict) else {}
    phrases = body.get(key) if isinstance(body.get(key), list) else []
    segments = [s for s in map(segment, phrases) if s is not None]
    duration = milliseconds(body.get("durationMilliseconds"))
    return RestResult(sorted(segments, key=lambda s: (s.start, s.end, s.speaker)), (duration or 0) / 1000)


def phrase_segment(
    phrase: dict,
    text: str,
    confidence: object,
    words: Callable[[float, float], tuple[Word, ...]],
    options: RecognitionOptions,
    channel_mode: str,
) -> Segment | None:
    """``phrase`` (its offset, duration, speaker or channel, locale) as a segment of ``text``; ``confidence`` and
    ``words(start, end)`` only when ``words`` is on, the language only when identifying. None without an offset."""
    offset = milliseconds(phrase.get("offsetMilliseconds"))
    if offset is None:
        return None
    start = round(offset / 1000, 3)
    end = round((offset + max(milliseconds(phrase.get("durationMilliseconds")) or 0, 0)) / 1000, 3)
    locale = phrase.get("locale")
    return Segment(
        speaker=speaker_label(phrase, options, channel_mode),
        start=start,
        end=end,
        text=text,
        language=locale if options.identifies_language and isinstance(locale, str) and locale else None,
        confidence=probability(confidence) if options.words else None,
        words=words(start, end) if options.words else None,
    )


def speaker_label(phrase: dict, options: RecognitionOptions, channel_mode: str) -> str:
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


def words_within(found: object, start: float, end: float, text_key: str) -> tuple[Word, ...]:
    """Each word (its text under ``text_key``) with its time kept inside its segment, in time order, and its
    confidence when the engine gives one."""
    words = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get(text_key), str) or not entry[text_key]:
            continue
        offset = milliseconds(entry.get("offsetMilliseconds"))
        if offset is None:
            continue
        length = max(milliseconds(entry.get("durationMilliseconds")) or 0, 0)
        word_start = min(max(round(offset / 1000, 3), start), end)
        word_end = min(max(round((offset + length) / 1000, 3), word_start), end)
        words.append(Word(entry[text_key], word_start, word_end, probability(entry.get("confidence"))))
    return tuple(sorted(words, key=lambda word: word.start))


def milliseconds(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def probability(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def ends_early(declared: float | None, heard: float) -> list[str]:
    """The decoder's truncation warning, for audio the service heard rather than this process decoded."""
    if declared is None or heard + max(0.5, 0.01 * declared) >= declared:
        return []
    return [f"the file ends early or is damaged: it declares {declared:.1f} s, {heard:.1f} s were transcribed"]
