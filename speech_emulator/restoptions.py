"""The recognition options the two REST APIs share, checked as the service checks them.

Fast transcription's ``definition`` and batch transcription's ``properties`` spell the same things the
same way (``diarization {enabled, maxSpeakers}``, ``channels``, ``profanityFilterMode``, locales); each
bad value is refused with 400 ``InvalidRequest`` and an ``innerError`` code from the specification's
``DetailedErrorCode`` list, naming the field.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from .filerecognition import FileRequest
from .httpio import HttpError, service_error
from .profanity import REST_MODES, Profanity


def invalid(message: str, inner: str = "InvalidParameterValue") -> HttpError:
    return service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", message, inner)


def parse_locales(value: Any) -> tuple[str, ...]:
    """Candidate locales (several: identified per phrase); none means English here (see the README)."""
    if value in (None, []):
        return ("en-US",)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid("locales must be a list of locale names.")
    try:
        FileRequest(locales=tuple(value)).codes  # noqa: B018 - a locale Whisper cannot decode is refused now
    except ValueError as exc:
        raise invalid(str(exc), "UnsupportedLanguageCode") from None
    return tuple(value)


def parse_diarization(value: Any) -> tuple[bool, int | None]:
    """``{enabled, maxSpeakers}``; ``maxSpeakers`` alone turns diarization on, as the official client sends it."""
    if value is None:
        return False, None
    if not isinstance(value, dict):
        raise invalid("diarization must be an object.")
    max_speakers = value.get("maxSpeakers")
    if max_speakers is not None and (not isinstance(max_speakers, int) or not 2 <= max_speakers <= 35):
        raise invalid("diarization.maxSpeakers must be a whole number from 2 to 35.")
    enabled = value.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise invalid("diarization.enabled must be true or false.")
    return (enabled if enabled is not None else max_speakers is not None), max_speakers


def parse_channels(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, int) and c in (0, 1) for c in value):
        raise invalid("channels must be a list of channel numbers 0 and 1.", "InvalidChannels")
    if len(set(value)) != len(value):
        raise invalid("channels must not repeat a channel.", "InvalidChannels")
    return tuple(value)


def parse_profanity(value: Any) -> Profanity:
    if value is None:
        return REST_MODES["Masked"]
    mode = next(
        (mode for name, mode in REST_MODES.items() if isinstance(value, str) and name.lower() == value.lower()), None
    )
    if mode is None:
        raise invalid(f"profanityFilterMode must be one of {', '.join(REST_MODES)}.")
    return mode
