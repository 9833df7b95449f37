"""The files a finished batch transcription lists: a ``Transcription`` file per recording, a ``TranscriptionReport``.

Shapes as the batch transcription documentation shows them ("Get batch transcription results"): times
three ways (ISO 8601 ``offset``, 100-ns ``offsetInTicks``, ``offsetMilliseconds``), ``nBest`` with the
lexical, ITN, masked ITN and display forms (here all filtered alike; Whisper already writes digits, so
ITN is the lexical form), ``words`` only when word-level timestamps were asked for, ``speaker`` only with
diarization, ``locale`` only with language identification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .filerecognition import FilePhrase, FileTranscript, FileWord

TICKS_PER_MS = 10_000


def iso_duration(ms: int) -> str:
    """``PT1M2.5S`` for 62 500 ms, ``PT0S`` for 0."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{seconds}S"


def timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _times(offset_ms: int, duration_ms: int) -> dict[str, Any]:
    return {
        "offset": iso_duration(offset_ms),
        "duration": iso_duration(duration_ms),
        "offsetInTicks": float(offset_ms * TICKS_PER_MS),
        "durationInTicks": float(duration_ms * TICKS_PER_MS),
        "offsetMilliseconds": offset_ms,
        "durationMilliseconds": duration_ms,
    }


def result_file(
    source: str, transcript: FileTranscript, *, words: bool, display_words: bool, locales: bool
) -> dict[str, Any]:
    """The ``Transcription`` file for one recording."""
    combined = []
    for channel in transcript.channels:
        mine = [p for p in transcript.phrases if p.channel == channel]
        lexical = " ".join(p.lexical for p in mine)
        display = " ".join(p.display for p in mine)
        combined.append(
            {"channel": channel, "lexical": lexical, "itn": lexical, "maskedITN": lexical, "display": display}
        )
    return {
        "source": source,
        "timestamp": timestamp(),
        "durationInTicks": transcript.duration_ms * TICKS_PER_MS,
        "durationMilliseconds": transcript.duration_ms,
        "duration": iso_duration(transcript.duration_ms),
        "combinedRecognizedPhrases": combined,
        "recognizedPhrases": [
            _phrase(p, words=words, display_words=display_words, locales=locales) for p in transcript.phrases
        ],
    }


def _phrase(phrase: FilePhrase, *, words: bool, display_words: bool, locales: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"recognitionStatus": "Success", "channel": phrase.channel}
    if phrase.speaker is not None:
        item["speaker"] = phrase.speaker
    item.update(_times(phrase.offset_ms, phrase.duration_ms))
    if locales:
        item["locale"] = phrase.locale
    best: dict[str, Any] = {
        "confidence": phrase.confidence,
        "lexical": phrase.lexical,
        "itn": phrase.lexical,
        "maskedITN": phrase.lexical,
        "display": phrase.display,
    }
    if words:
        best["words"] = [_word(w, w.lexical, "word") for w in phrase.words]
    if display_words:
        best["displayWords"] = [_word(w, w.display, "displayText") for w in phrase.words]
    item["nBest"] = [best]
    return item


def _word(word: FileWord, text: str, key: str) -> dict[str, Any]:
    return {key: text, **_times(word.offset_ms, word.duration_ms), "confidence": word.confidence}


def report_file(outcomes: list[tuple[str, str | None, str | None]]) -> dict[str, Any]:
    """The ``TranscriptionReport``: per recording ``(source, error code, error message)``, None when it succeeded."""
    details = []
    for source, code, message in outcomes:
        detail: dict[str, Any] = {"source": source, "status": "Succeeded" if code is None else "Failed"}
        if code is not None:
            detail.update(errorKind=code, errorMessage=message)
        details.append(detail)
    failed = sum(1 for _, code, _ in outcomes if code is not None)
    return {
        "successfulTranscriptionsCount": len(outcomes) - failed,
        "failedTranscriptionsCount": failed,
        "details": details,
    }
