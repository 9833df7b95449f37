"""A finished batch transcription read: its result file as the same ``Segment``s every engine gives
(``shared.output.phrases``), or its ``Failed`` status as a typed error, permanent or transient by its code.
Read defensively: a malformed phrase is left out, never a failed recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import (
    BadRequestError,
    ServiceError,
    StorageAccessDeniedError,
    TranscriptionError,
    UnsupportedAudioError,
)
from shared.options import RecognitionOptions
from shared.output.phrases import milliseconds, probability, speaker_label, words_within
from shared.output.transcript import Segment

#: ``Failed`` codes that the same audio and request will meet again (the API's ``ErrorCode`` and
#: ``DetailedErrorCode`` lists); anything else, unknown codes included, may pass and is retried by attempts.
_UNDECODABLE = frozenset({"InvalidData", "InvalidAudioFormat", "UnsupportedAudio", "EmptyAudioFile"})
_REFUSED = frozenset(
    {"InvalidRecordingsUri", "InvalidParameterValue", "InvalidLocale", "UnsupportedLanguageCode", "InvalidChannels"}
)
#: The service could not read the recording: its identity lacks the role or the network rule (``infra/``).
_NO_ACCESS = "InaccessibleCustomerStorage"


@dataclass(frozen=True)
class BatchResult:
    """The segments, in time order, and the length of audio the service says it transcribed."""

    segments: list[Segment]
    seconds: float


def batch_result(files: list[dict], options: RecognitionOptions, channel_mode: str) -> BatchResult:
    """The ``Transcription`` file (one recording per transcription) as segments."""
    body = next((f for f in files if isinstance(f, dict)), {})
    phrases = body.get("recognizedPhrases") if isinstance(body.get("recognizedPhrases"), list) else []
    segments = [s for s in (_segment(p, options, channel_mode) for p in phrases) if s is not None]
    duration = milliseconds(body.get("durationMilliseconds"))
    return BatchResult(sorted(segments, key=lambda s: (s.start, s.end, s.speaker)), (duration or 0) / 1000)


def _segment(phrase: Any, options: RecognitionOptions, channel_mode: str) -> Segment | None:
    if not isinstance(phrase, dict) or phrase.get("recognitionStatus", "Success") != "Success":
        return None
    best = (phrase.get("nBest") or [None])[0] if isinstance(phrase.get("nBest"), list) else None
    offset = milliseconds(phrase.get("offsetMilliseconds"))
    if not isinstance(best, dict) or not isinstance(best.get("display"), str) or offset is None:
        return None
    start = round(offset / 1000, 3)
    end = round((offset + max(milliseconds(phrase.get("durationMilliseconds")) or 0, 0)) / 1000, 3)
    locale = phrase.get("locale")
    return Segment(
        speaker=speaker_label(phrase, options, channel_mode),
        start=start,
        end=end,
        text=best["display"],
        language=locale if options.identifies_language and isinstance(locale, str) and locale else None,
        confidence=probability(best.get("confidence")) if options.words else None,
        words=_words(best, start, end) if options.words else None,
    )


def _words(best: dict, start: float, end: float) -> tuple:
    """The display-form words (punctuation kept, as the text shows them), else the lexical ones."""
    if isinstance(best.get("displayWords"), list):
        return words_within(best["displayWords"], start, end, "displayText")
    return words_within(best.get("words"), start, end, "word")


def failure(entity: dict, transcription_id: str) -> TranscriptionError:
    """What a ``Failed`` transcription's ``properties.error`` means for the recording."""
    error = (entity.get("properties") or {}).get("error") or {}
    code = str(error.get("code") or "")[:60] if isinstance(error, dict) else ""
    said = str(error.get("message") or "")[:300] if isinstance(error, dict) else ""
    what = f"batch transcription {transcription_id} failed: {code or 'no code'}: {said}"
    if code in _UNDECODABLE:
        return UnsupportedAudioError(what, sdk_error_code=code)
    if code in _REFUSED:
        return BadRequestError(what, sdk_error_code=code)
    if code == _NO_ACCESS:
        return StorageAccessDeniedError(
            f"{what} (the Speech resource's identity needs Storage Blob Data Reader on the account and the "
            "resource-instance network rule: infra/)",
            sdk_error_code=code,
        )
    return ServiceError(what, sdk_error_code=code)
