"""The transcript model and its JSON and plain-text forms (``schema: "stt-transcript/1"``).

Fields are added, never renamed, so consumers of the output container keep working; ``SCHEMA_REVISION``
counts the additions (``docs/transcript.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

from shared.options import RecognitionOptions, as_written

SCHEMA = "stt-transcript/1"
SCHEMA_REVISION = 3


@dataclass(frozen=True)
class Word:
    """One recognised word with its time (seconds from the start of the audio) and the service's confidence."""

    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class Segment:
    """One recognised phrase: who said it, when (seconds from the start of the audio), what; ``language``,
    ``confidence`` (0-1) and ``words`` when known."""

    speaker: str
    start: float
    end: float
    text: str
    language: str | None = None
    confidence: float | None = None
    words: tuple[Word, ...] | None = None


@dataclass(frozen=True)
class LanguageShare:
    """How much of the recognised speech was in one detected language: seconds, and the share of all (0-1)."""

    language: str
    seconds: float
    share: float


@dataclass(frozen=True)
class AudioInfo:
    """What the input turned out to be, as found in the file (not what was sent); ``duration_seconds`` is what
    was decoded, ``declared_duration_seconds`` what the container says, so a truncated file shows."""

    format: str
    sample_rate: int
    channels: int
    bits_per_sample: int | None  # PCM only; null for compressed codecs
    duration_seconds: float
    container: str = ""
    codec: str = ""
    declared_duration_seconds: float | None = None
    decoded_duration_seconds: float | None = None
    channel_mode: str = "mix"  # "separate": one speaker per channel (Channel-1, Channel-2, ...)


@dataclass
class Transcript:
    """The result of one transcription, whatever door it came through; ``speakers``, ``text`` and
    ``languages`` are derived from the segments, so they can never disagree with them."""

    source: dict[str, object]
    language: str
    audio: AudioInfo
    segments: list[Segment]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    options: RecognitionOptions | None = None
    #: The engine that ran (every transcript before revision 3 was real-time's), and why when ``auto`` chose.
    engine: str = "realtime"
    engine_reason: str | None = None

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments))

    @property
    def languages(self) -> list[LanguageShare]:
        """The detected languages, largest share first; empty when language identification was off."""
        return language_shares(self.segments)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "schema_revision": SCHEMA_REVISION,
            "source": self.source,
            "language": self.language,
            "audio": asdict(self.audio),
            "duration_seconds": self.audio.duration_seconds,
            "speakers": self.speakers,
            "segments": [_segment_dict(s) for s in self.segments],
            "text": self.text,
            "timings": self.timings,
            "warnings": self.warnings,
            "created_at": self.created_at,
            "options": None if self.options is None else self.options.to_dict(),
            "engine": self.engine,
            "engine_reason": self.engine_reason,
            "languages": [
                {"language": found.language, "seconds": round(found.seconds, 3), "share": round(found.share, 4)}
                for found in self.languages
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, body: Mapping[str, object]) -> Transcript:
        """The transcript a ``to_dict`` of any revision wrote (unknown fields ignored, missing ones defaulted)."""
        known = {f.name for f in fields(AudioInfo)}
        return cls(
            source=dict(body.get("source") or {}),
            language=str(body.get("language", "")),
            audio=AudioInfo(**{k: v for k, v in dict(body["audio"]).items() if k in known}),
            segments=[_segment_from_dict(s) for s in body.get("segments") or []],
            timings=dict(body.get("timings") or {}),
            warnings=list(body.get("warnings") or []),
            created_at=str(body.get("created_at", "")),
            options=_options_from_dict(body.get("options")),
            engine=str(body.get("engine") or "realtime"),
            engine_reason=None if body.get("engine_reason") is None else str(body["engine_reason"]),
        )

    def to_text(self) -> str:
        """Speaker turns: consecutive segments of one speaker (and one language, when identified:
        ``[00:00:03] Guest-2 (de-DE): ...``) join into one paragraph."""
        lines: list[str] = []
        turn: tuple[str, str | None] | None = None
        for seg in self.segments:
            if (seg.speaker, seg.language) != turn:
                turn = (seg.speaker, seg.language)
                who = seg.speaker if seg.language is None else f"{seg.speaker} ({seg.language})"
                lines.append(f"[{_clock(seg.start)}] {who}: {seg.text}")
            else:
                lines[-1] += f" {seg.text}"
        return "\n".join(lines) + ("\n" if lines else "")


def language_shares(segments: Iterable[Segment]) -> list[LanguageShare]:
    """Each detected language with its seconds of speech and its share of the identified speech, largest
    first (how shares are counted: ``docs/transcript.md``)."""
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for segment in segments:
        if segment.language is None:
            continue
        length = segment.end - segment.start
        seconds[segment.language] = seconds.get(segment.language, 0.0) + (length if length > 0 else 0.0)
        counts[segment.language] = counts.get(segment.language, 0) + 1
    total = math.fsum(seconds.values())
    weights = seconds if total > 0 and math.isfinite(total) else counts
    whole = math.fsum(weights.values())
    shares = [LanguageShare(language, seconds[language], weights[language] / whole) for language in weights]
    return sorted(shares, key=lambda found: (-found.share, found.language))


def main_language(segments: Iterable[Segment], fallback: str) -> str:
    """The transcript's one ``language``: the detected language with the largest share of the speech, else
    ``fallback`` (the first asked for)."""
    shares = language_shares(segments)
    return shares[0].language if shares else fallback


def _segment_dict(segment: Segment) -> dict[str, object]:
    """A segment as JSON: the fields every segment has, and the optional ones only when they are known."""
    body: dict[str, object] = {
        "speaker": segment.speaker,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
    }
    if segment.language is not None:
        body["language"] = segment.language
    if segment.confidence is not None:
        body["confidence"] = segment.confidence
    if segment.words is not None:
        body["words"] = [asdict(word) for word in segment.words]
    return body


def _segment_from_dict(body: Mapping[str, object]) -> Segment:
    words = body.get("words")
    return Segment(
        str(body["speaker"]),
        float(body["start"]),
        float(body["end"]),
        str(body["text"]),
        language=None if body.get("language") is None else str(body["language"]),
        confidence=_number_or_none(body.get("confidence")),
        words=None
        if words is None
        else tuple(
            Word(str(w["text"]), float(w["start"]), float(w["end"]), _number_or_none(w.get("confidence")))
            for w in words
        ),
    )


def _options_from_dict(body: object) -> RecognitionOptions | None:
    return as_written(body) if isinstance(body, Mapping) else None


def _number_or_none(value: object) -> float | None:
    return None if value is None else float(value)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
