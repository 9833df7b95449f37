"""A batch transcription request (``POST /speechtotext/transcriptions:submit``), checked as the service checks it.

Required: ``contentUrls`` (1-1000 absolute URLs), ``locale``, ``displayName``, ``properties.timeToLiveHours``
(6 h to 31 days). The recognition properties map to the same options as fast transcription
(:mod:`speech_emulator.restoptions`); ``languageIdentification.candidateLocales`` (2-10) replaces ``locale``
as the languages to choose among (``locale`` is then what the service falls back to). What the emulator does
not model is refused by name rather than ignored: ``contentContainerUrl``, ``destinationContainerUrl``,
a custom ``model``.

Channels: without ``channels``, the service transcribes channels 0 and 1 separately (its default); a mono
recording has only channel 0. With diarization the channels are mixed down, since the service diarizes
mono audio only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .filerecognition import FileRequest
from .httpio import HttpError, service_error
from .restoptions import invalid, parse_channels, parse_diarization, parse_locales, parse_profanity

MAX_CONTENT_URLS = 1000
TTL_HOURS = (6, 31 * 24)
_PUNCTUATION = ("None", "Dictated", "Automatic", "DictatedAndAutomatic")
_LID_MODES = ("Continuous", "Single")


@dataclass(frozen=True)
class Submission:
    """What was asked for: kept with the transcription, echoed (minus ``contentUrls``) in its entity."""

    display_name: str
    locale: str
    content_urls: tuple[str, ...]
    properties: dict[str, Any]  # the request's properties as the entity shows them
    request: FileRequest
    words: bool = False
    display_words: bool = False
    identify: bool = False  # language identification: a ``locale`` on every phrase
    description: str | None = None
    custom_properties: dict[str, str] = field(default_factory=dict)


def parse_submission(body: Any) -> Submission:
    """The request as a Submission; HttpError 400 naming the first thing wrong."""
    if not isinstance(body, dict):
        raise invalid("The transcription must be a JSON object.", "InvalidPayload")
    for unsupported in ("contentContainerUrl", "model", "dataset"):
        if body.get(unsupported) is not None:
            raise invalid(f"{unsupported} is not supported by the emulator.", "InvalidPayload")
    urls = _content_urls(body.get("contentUrls"))
    locale, name = body.get("locale"), body.get("displayName")
    if not isinstance(name, str) or not name:
        raise invalid("displayName is required.", "InvalidPayload")
    if not isinstance(locale, str) or not locale:
        raise invalid("locale is required.", "InvalidLocale")
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise invalid("properties with timeToLiveHours is required.", "InvalidPayload")
    request, echoed = _recognition(properties, locale)
    custom = body.get("customProperties") or {}
    if not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values()):
        raise invalid("customProperties must map names to strings.", "InvalidPayload")
    return Submission(
        display_name=name,
        locale=locale,
        content_urls=urls,
        properties=echoed,
        request=request,
        words=_flag(properties, "wordLevelTimestampsEnabled"),
        display_words=_flag(properties, "displayFormWordLevelTimestampsEnabled"),
        identify=len(request.locales) > 1,
        description=body.get("description"),
        custom_properties=custom,
    )


def _content_urls(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise invalid("contentUrls must list the recordings to transcribe.", "InvalidRecordingsUri")
    if len(value) > MAX_CONTENT_URLS:
        raise invalid(f"contentUrls holds more than {MAX_CONTENT_URLS} URLs.", "ExceededNumberOfRecordingsUris")
    for url in value:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(f"contentUrls: {url!r} is not an absolute URL.", "InvalidRecordingsUri")
    return tuple(value)


def _recognition(properties: dict[str, Any], locale: str) -> tuple[FileRequest, dict[str, Any]]:
    """The recognition options, and the properties as the transcription entity echoes them."""
    ttl = properties.get("timeToLiveHours")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not TTL_HOURS[0] <= ttl <= TTL_HOURS[1]:
        raise invalid(f"timeToLiveHours must be from {TTL_HOURS[0]} to {TTL_HOURS[1]}.", "InvalidTimeToLive")
    if properties.get("destinationContainerUrl") is not None:
        raise invalid("destinationContainerUrl is not supported by the emulator.", "InvalidPayload")
    if properties.get("punctuationMode", "DictatedAndAutomatic") not in _PUNCTUATION:
        raise invalid(f"punctuationMode must be one of {', '.join(_PUNCTUATION)}.")
    diarization = properties.get("diarization")
    if diarization is None and properties.get("diarizationEnabled") is True:
        diarization = {"enabled": True}
    diarize, max_speakers = parse_diarization(diarization)
    channels = parse_channels(properties.get("channels", [0, 1]))
    candidates, continuous = _language_identification(properties.get("languageIdentification"))
    request = FileRequest(
        locales=candidates or parse_locales([locale]),
        continuous_lid=continuous,
        channels=() if diarize else channels,
        diarize=diarize,
        max_speakers=max_speakers,
        profanity=parse_profanity(properties.get("profanityFilterMode")),
    )
    echoed = {k: v for k, v in properties.items() if k != "destinationContainerUrl"}
    echoed.setdefault("channels", list(channels))
    echoed.setdefault("profanityFilterMode", "Masked")
    echoed.setdefault("punctuationMode", "DictatedAndAutomatic")
    return request, echoed


def _language_identification(value: Any) -> tuple[tuple[str, ...], bool]:
    if value is None:
        return (), True
    if not isinstance(value, dict):
        raise invalid("languageIdentification must be an object.")
    candidates = value.get("candidateLocales")
    if not isinstance(candidates, list) or not 2 <= len(candidates) <= 10:
        raise invalid("languageIdentification.candidateLocales must list 2 to 10 locales.", "InvalidLocale")
    mode = value.get("mode", "Continuous")
    if mode not in _LID_MODES:
        raise invalid(f"languageIdentification.mode must be one of {', '.join(_LID_MODES)}.")
    return parse_locales(candidates), mode == "Continuous"


def _flag(properties: dict[str, Any], name: str) -> bool:
    value = properties.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false.")
    return value


def not_found(what: str) -> HttpError:
    return service_error(HTTPStatus.NOT_FOUND, "NotFound", f"The {what} was not found.")
