"""A finished batch transcription read: its result file as the same ``Segment``s every engine gives
(``shared.output.phrases``), or its ``Failed`` status as a typed error, permanent or transient by its code.
Read defensively: a malformed phrase is left out, never a failed recording.
"""

from __future__ import annotations

from typing import Any

from shared.errors import (
    BadRequestError,
    ServiceError,
    StorageAccessDeniedError,
    TranscriptionError,
    UnsupportedAudioError,
)
from shared.options import RecognitionOptions
from shared.output.phrases import RestResult, phrase_segment, read_phrases, words_within
from shared.output.transcript import Segment

#: ``Failed`` codes that the same audio and request will meet again (the API's ``ErrorCode`` and
#: ``DetailedErrorCode`` lists); anything else, unknown codes included, may pass and is retried by attempts.
_UNDECODABLE = frozenset({"InvalidData", "InvalidAudioFormat", "UnsupportedAudio", "EmptyAudioFile"})
_REFUSED = frozenset(
    {"InvalidRecordingsUri", "InvalidParameterValue", "InvalidLocale", "UnsupportedLanguageCode", "InvalidChannels"}
)
#: The service could not read the recording: its identity lacks the role or the network rule (``infra/``).
_NO_ACCESS = "InaccessibleCustomerStorage"


def batch_result(files: list[dict], options: RecognitionOptions, channel_mode: str) -> RestResult:
    """The ``Transcription`` file (one recording per transcription) as segments."""
    body = next((f for f in files if isinstance(f, dict)), {})
    return read_phrases(body, "recognizedPhrases", lambda phrase: _segment(phrase, options, channel_mode))


def _segment(phrase: Any, options: RecognitionOptions, channel_mode: str) -> Segment | None:
    if not isinstance(phrase, dict) or phrase.get("recognitionStatus", "Success") != "Success":
        return None
    best = (phrase.get("nBest") or [None])[0] if isinstance(phrase.get("nBest"), list) else None
    if not isinstance(best, dict) or not isinstance(best.get("display"), str):
        return None
    return phrase_segment(
        phrase,
        best["display"],
        best.get("confidence"),
        lambda start, end: _words(best, start, end),
        options,
        channel_mode,
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
