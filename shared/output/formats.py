"""The registry of output formats: what each is called, how it renders, how it is served. ``OUTPUT_FORMATS``,
``?format=``, ``Accept`` and ``--format`` all take their values from ``FORMATS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.output.subtitles import to_srt, to_webvtt
from shared.output.transcript import Transcript


@dataclass(frozen=True)
class OutputFormat:
    """One way to write a transcript: what renders it, how to serve it, how to name the file."""

    name: str
    render: Callable[[Transcript], str]
    content_type: str  # without charset: every renderer returns text, written as UTF-8
    extension: str


#: Every output format by name: the values ``OUTPUT_FORMATS`` / ``?format=`` / ``--format`` may take.
FORMATS: dict[str, OutputFormat] = {
    "json": OutputFormat("json", Transcript.to_json, "application/json", "json"),
    "txt": OutputFormat("txt", Transcript.to_text, "text/plain", "txt"),
    "srt": OutputFormat("srt", to_srt, "application/x-subrip", "srt"),
    "vtt": OutputFormat("vtt", to_webvtt, "text/vtt", "vtt"),
}


def output_format(name: str) -> OutputFormat:
    """The format called ``name`` (case-insensitive); ``ValueError`` naming the known ones otherwise."""
    try:
        return FORMATS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}: use one of {', '.join(FORMATS)}") from None


def render(transcript: Transcript, name: str) -> str:
    """``transcript`` written in the format called ``name``."""
    return output_format(name).render(transcript)
