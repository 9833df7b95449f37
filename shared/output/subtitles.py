"""Subtitles from a transcript: SRT and WebVTT, the speaker on every cue (WebVTT's voice tag, SRT's
``[label]`` prefix), at most ``CUE_LINES`` lines of ``LINE_CHARS``, the common broadcast limit.

A long segment's time is shared out over its cues by their characters; with word times the cues follow the
words (``shared.output.word_cues``). The rules a consumer can rely on: ``docs/transcript.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.output.transcript import Segment, Transcript
from shared.output.word_cues import WordCue, fit_cue_times, word_cues

#: The longest cue line, in characters (speaker prefix included where it is visible: SRT).
LINE_CHARS = 42
CUE_LINES = 2
#: Speaker labels are shortened to this so a prefix always leaves room for text.
SPEAKER_CHARS = 24
#: As the Speech service writes an unnamed speaker.
UNKNOWN_SPEAKER = "Unknown"


@dataclass(frozen=True)
class Cue:
    """One subtitle: when, who, and up to ``CUE_LINES`` lines of plain (unescaped) text."""

    start_ms: int
    end_ms: int
    speaker: str
    lines: tuple[str, ...]


def speaker_label(speaker: str) -> str:
    """The label shown on cues: whitespace collapsed, ``Unknown`` when blank, at most ``SPEAKER_CHARS``."""
    label = " ".join(speaker.split()) or UNKNOWN_SPEAKER
    return label[:SPEAKER_CHARS]


def _srt_prefix(label: str) -> str:
    """How SubRip names a cue's speaker (a cue's ``speaker`` is already its label), before its first line."""
    return f"[{label}] "


def cues(transcript: Transcript, *, first_line_reserve: Callable[[str], int] = lambda _speaker: 0) -> list[Cue]:
    """The cues of ``transcript`` in file order; ``first_line_reserve(label)`` is how many characters of a
    cue's first line something else takes (SRT's visible ``[speaker] `` prefix)."""
    limit_ms = _audio_end_ms(transcript.audio.duration_seconds)
    result: list[Cue] = []
    for segment in transcript.segments:
        words = segment.text.split()
        if not words:
            continue
        label = speaker_label(segment.speaker)
        first_width = LINE_CHARS - first_line_reserve(label)
        timed = word_cues(segment, first_width=first_width, line_width=LINE_CHARS, cue_lines=CUE_LINES)
        if timed is not None:
            result.extend(_word_timed(timed, segment, label, limit_ms))
            continue
        lines = _wrap(words, first_width=first_width)
        groups = [tuple(lines[i : i + CUE_LINES]) for i in range(0, len(lines), CUE_LINES)]
        weights = [sum(len(line) - line.count(" ") for line in group) for group in groups]
        start_ms, end_ms = _span(_ms(segment.start), _ms(segment.end), len(groups), limit_ms)
        bounds = _apportion(start_ms, end_ms, weights)
        result.extend(Cue(bounds[i], bounds[i + 1], label, group) for i, group in enumerate(groups))
    # Stable: cues of one segment keep their order, and so do segments that start together.
    result.sort(key=lambda cue: cue.start_ms)
    return result


def to_srt(transcript: Transcript) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm``, speaker as a ``[label] `` prefix on every cue."""
    blocks = []
    for number, cue in enumerate(cues(transcript, first_line_reserve=lambda label: len(_srt_prefix(label))), start=1):
        text = "\n".join((_srt_prefix(cue.speaker) + cue.lines[0], *cue.lines[1:]))
        blocks.append(f"{number}\n{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}\n{text}\n\n")
    return "".join(blocks)


def to_webvtt(transcript: Transcript) -> str:
    """WebVTT: ``HH:MM:SS.mmm``, speaker as a voice tag ``<v label>`` on every cue, text escaped."""
    parts = ["WEBVTT\n\n"]
    for cue in cues(transcript):
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        parts.append(
            f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}\n"
            f"<v {_vtt_escape(cue.speaker)}>{text}\n\n"
        )
    return "".join(parts)


# -- layout ------------------------------------------------------------------------------------------
def _wrap(words: Sequence[str], *, first_width: int) -> list[str]:
    """Greedy line filling; lines alternate first-of-cue (``first_width``) and second (``LINE_CHARS``)."""
    lines: list[str] = []
    current = ""
    for word in words:
        while word:
            width = first_width if len(lines) % CUE_LINES == 0 else LINE_CHARS
            if not current:
                if len(word) <= width:
                    current, word = word, ""
                else:  # longer than a whole line: break it where the line ends
                    lines.append(word[:width])
                    word = word[width:]
            elif len(current) + 1 + len(word) <= width:
                current, word = f"{current} {word}", ""
            else:
                lines.append(current)
                current = ""
    if current:
        lines.append(current)
    return lines


def _span(start_ms: int, end_ms: int, count: int, limit_ms: int | None) -> tuple[int, int]:
    """The segment's span for ``count`` cues, inside ``[0, limit_ms]`` and at least 1 ms per cue (stretched,
    or at the end of the audio moved back; only audio shorter than that leaves it short)."""
    start_ms = max(0, start_ms)
    if limit_ms is not None:
        start_ms = min(start_ms, limit_ms)
        end_ms = min(end_ms, limit_ms)
    end_ms = max(end_ms, start_ms)
    if end_ms - start_ms < count:
        end_ms = start_ms + count
        if limit_ms is not None and end_ms > limit_ms:
            end_ms, start_ms = limit_ms, max(0, limit_ms - count)
    return start_ms, end_ms


def _apportion(start_ms: int, end_ms: int, weights: Sequence[int]) -> list[int]:
    """``len(weights) + 1`` strictly increasing cue boundaries inside a ``_span``, shared out by weight."""
    count = len(weights)
    span, total = end_ms - start_ms, sum(weights)
    bounds, done = [start_ms], 0
    for weight in weights:
        done += weight
        bounds.append(start_ms + span * done // total)
    for i in range(1, count + 1):
        bounds[i] = max(bounds[i], bounds[i - 1] + 1)
    bounds[count] = min(bounds[count], end_ms)
    for i in range(count - 1, -1, -1):
        bounds[i] = min(bounds[i], bounds[i + 1] - 1)
    # Only audio shorter than 1 ms per cue gets here below start_ms: zero-length cues, still inside.
    return [max(bound, start_ms) for bound in bounds]


def _word_timed(timed: Sequence[WordCue], segment: Segment, label: str, limit_ms: int | None) -> list[Cue]:
    """Cues timed by their words, clamped into the segment's ``_span`` (so into the audio too)."""
    low, high = _span(_ms(segment.start), _ms(segment.end), len(timed), limit_ms)
    times = fit_cue_times([ms for cue in timed for ms in (_ms(cue.start), _ms(cue.end))], low, high)
    return [Cue(times[2 * i], times[2 * i + 1], label, cue.lines) for i, cue in enumerate(timed)]


def _ms(seconds: float) -> int:
    return round(seconds * 1000) if math.isfinite(seconds) else 0


def _audio_end_ms(duration_seconds: float) -> int | None:
    """The last millisecond inside the audio, or ``None`` when the duration is unknown (0)."""
    if not math.isfinite(duration_seconds) or duration_seconds <= 0:
        return None
    return math.floor(duration_seconds * 1000 + 1e-6)


def _timestamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
