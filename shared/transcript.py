"""The transcript model and its formats (JSON, plain text with speaker turns).

The JSON schema (``schema: "stt-transcript/1"``) is documented in the README; add fields, never
rename them, so consumers of the output container keep working.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

SCHEMA = "stt-transcript/1"


@dataclass(frozen=True)
class Segment:
    """One recognised phrase: who said it, when (seconds from the start of the audio), what."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class AudioInfo:
    """What the input turned out to be, as found in the file (not what was sent: always 16 kHz mono).

    ``format`` is ``container/codec``; ``duration_seconds`` is the audio decoded and transcribed;
    ``declared_duration_seconds`` what the container says (``None`` when it does not say), so a
    consumer can see a truncated file. Fields are only ever added, with defaults.
    """

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
    """The result of one transcription, whatever door it came through."""

    source: dict[str, object]
    language: str
    audio: AudioInfo
    segments: list[Segment]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments))

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "source": self.source,
            "language": self.language,
            "audio": asdict(self.audio),
            "duration_seconds": self.audio.duration_seconds,
            "speakers": self.speakers,
            "segments": [asdict(s) for s in self.segments],
            "text": self.text,
            "timings": self.timings,
            "warnings": self.warnings,
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, body: dict[str, object]) -> Transcript:
        """The transcript a ``to_dict`` wrote (fields it does not know are ignored, missing ones default)."""
        known = {f.name for f in fields(AudioInfo)}
        return cls(
            source=dict(body.get("source") or {}),
            language=str(body.get("language", "")),
            audio=AudioInfo(**{k: v for k, v in dict(body["audio"]).items() if k in known}),
            segments=[Segment(str(s["speaker"]), float(s["start"]), float(s["end"]), str(s["text"]))
                      for s in body.get("segments") or []],
            timings=dict(body.get("timings") or {}),
            warnings=list(body.get("warnings") or []),
            created_at=str(body.get("created_at", "")),
        )

    def to_text(self) -> str:
        """Speaker turns: consecutive segments of one speaker join into one paragraph."""
        lines: list[str] = []
        speaker = None
        for seg in self.segments:
            if seg.speaker != speaker:
                speaker = seg.speaker
                lines.append(f"[{_clock(seg.start)}] {speaker}: {seg.text}")
            else:
                lines[-1] += f" {seg.text}"
        return "\n".join(lines) + ("\n" if lines else "")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
