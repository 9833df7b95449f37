"""Fast transcription: ``POST /speechtotext/transcriptions:transcribe``, a multipart upload answered with a transcript.

The request is the service's: a ``definition`` JSON part (``locales``, ``diarization``, ``channels``,
``profanityFilterMode``, ``phraseList``) and an ``audio`` file part. The upload is spooled to a temporary
file as it arrives (never held in memory), decoded with PyAV and recognised by the session's recognisers
(:mod:`speech_emulator.filerecognition`); the answer is the documented ``TranscribeResult``.

Speed: recognition runs as fast as the CPU allows. ``--fast-pace F`` holds each answer until the audio's
duration / F has passed since the upload arrived, so a client's timeouts can be tested against a service
that is "faster than real time" by a chosen factor (the README says which factors match the documentation).
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from .audiofile import UndecodableAudioError
from .filerecognition import AudioTooLongError, FileRequest, FileTranscript, transcribe_file
from .httpio import Body, HttpError, Request, Response, service_error
from .multipart import FormError, read_form
from .restfaults import DELAY_PARAMETER, RestFault, RestFaultKind
from .restoptions import invalid, parse_channels, parse_diarization, parse_locales, parse_profanity
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator.rest")

#: "< 300 MB" per file (the Speech quotas page); read as MiB.
MAX_UPLOAD_BYTES = 300 * 1024 * 1024
#: "< 120 min" per file.
MAX_AUDIO_SECONDS = 120 * 60


class DropConnection(Exception):  # noqa: N818 - an instruction to the router, not an error
    """End the connection without an answer (a ``cut`` or ``silent`` fault); ``reset`` sends a TCP reset."""

    def __init__(self, reset: bool) -> None:
        super().__init__("connection dropped (fault injected)")
        self.reset = reset


@dataclass(frozen=True)
class FastSettings:
    pace: float = 0.0  # answer no sooner than duration / pace after the upload (0: as fast as recognised)
    slow_delay: float = 5.0  # the ``slow`` fault's wait
    stall_limit: float = 300.0  # how long a ``silent`` fault holds the connection


class FastTranscription:
    """The handler for one route, sharing the emulator's recognition worker."""

    def __init__(self, worker: RecognitionWorker, settings: FastSettings) -> None:
        self.worker = worker
        self.settings = settings

    async def handle(self, request: Request, body: Body, fault: RestFault | None) -> Response:
        kind = fault.kind if fault is not None else None
        if body.length is not None and body.length > MAX_UPLOAD_BYTES:
            raise _too_large()
        with tempfile.TemporaryDirectory(prefix="speech-emulator-") as folder:
            parts = await self._upload(request, body, Path(folder), cut=kind is RestFaultKind.CUT)
            received = time.monotonic()
            if kind is RestFaultKind.SILENT:
                await asyncio.sleep(self.settings.stall_limit)
                raise DropConnection(reset=False)
            if kind is RestFaultKind.SLOW:
                await asyncio.sleep(self._delay(request))
            options = parse_definition(parts["definition"].data if "definition" in parts else b"")
            if "audio" not in parts or parts["audio"].path is None or parts["audio"].size == 0:
                raise service_error(
                    HTTPStatus.BAD_REQUEST, "InvalidRequest", "No audio in the request.", "EmptyRequest"
                )
            transcript = await self._transcribe(parts["audio"].path, options)
        if self.settings.pace > 0:
            await asyncio.sleep(
                max(0.0, received + transcript.duration_ms / 1000 / self.settings.pace - time.monotonic())
            )
        return Response.json(HTTPStatus.OK, result_json(transcript, separate=bool(options.channels)))

    def _delay(self, request: Request) -> float:
        """The ``slow`` fault's wait: the ``fault-delay`` query parameter, else ``--rest-slow``."""
        try:
            return max(0.0, float(request.query.get(DELAY_PARAMETER, self.settings.slow_delay)))
        except ValueError:
            raise invalid(f"{DELAY_PARAMETER} must be a number of seconds.") from None

    async def _upload(self, request: Request, body: Body, folder: Path, *, cut: bool) -> dict[str, Any]:
        """The form, spooled into ``folder``; with ``cut``, the connection is reset halfway through instead."""
        chunks = body.chunks()
        if cut:
            half = (body.length or 2 * 1024 * 1024) // 2
            async for _chunk in chunks:
                if body.received >= half:
                    raise DropConnection(reset=True)
            raise DropConnection(reset=True)

        async def limited():  # noqa: ANN202
            async for chunk in chunks:
                if body.received > MAX_UPLOAD_BYTES:
                    raise _too_large()
                yield chunk

        try:
            return await read_form(limited(), request.headers.get("Content-Type"), folder, files=("audio",))
        except FormError as exc:
            raise service_error(
                HTTPStatus.BAD_REQUEST, "InvalidRequest", str(exc), "InvalidRequestBodyFormat"
            ) from None

    async def _transcribe(self, path: Path, options: FileRequest) -> FileTranscript:
        try:
            return await transcribe_file(path, options, self.worker)
        except UndecodableAudioError as exc:
            raise service_error(HTTPStatus.UNPROCESSABLE_ENTITY, "UnprocessableEntity", str(exc)) from None
        except AudioTooLongError as exc:
            raise service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(exc), "InvalidParameterValue") from None


def _too_large() -> HttpError:
    return service_error(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "InvalidRequest", f"The request is larger than {MAX_UPLOAD_BYTES} bytes."
    )


def parse_definition(data: bytes) -> FileRequest:
    """The ``definition`` part as recognition options; HttpError 400 naming the first bad field."""
    try:
        definition = json.loads(data or b"{}")
    except ValueError:
        raise invalid("definition is not valid JSON.", "InvalidRequestBodyFormat") from None
    if not isinstance(definition, dict):
        raise invalid("definition must be a JSON object.", "InvalidRequestBodyFormat")
    if definition.get("audioUrl") is not None:
        raise invalid("audioUrl is not supported by the emulator: upload the audio.")
    diarize, max_speakers = parse_diarization(definition.get("diarization"))
    channels = parse_channels(definition.get("channels"))
    if len(channels) > 1 and diarize:
        raise invalid("diarization is not supported together with multiple channels.")
    phrase_list = definition.get("phraseList") or {}
    phrases = phrase_list.get("phrases") or [] if isinstance(phrase_list, dict) else None
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise invalid("phraseList.phrases must be a list of strings.")
    request = FileRequest(
        locales=parse_locales(definition.get("locales")),
        channels=channels,
        diarize=diarize,
        max_speakers=max_speakers,
        profanity=parse_profanity(definition.get("profanityFilterMode")),
        phrases=tuple(phrases),
        max_seconds=MAX_AUDIO_SECONDS,
    )
    return request


def result_json(transcript: FileTranscript, *, separate: bool) -> dict[str, Any]:
    """The ``TranscribeResult``: ``channel`` only with separate channels, ``speaker`` only with diarization."""
    combined = []
    for channel in transcript.channels:
        entry: dict[str, Any] = {"channel": channel} if separate else {}
        entry["text"] = " ".join(p.display for p in transcript.phrases if p.channel == channel)
        combined.append(entry)
    phrases = []
    for phrase in transcript.phrases:
        item: dict[str, Any] = {"channel": phrase.channel} if separate else {}
        if phrase.speaker is not None:
            item["speaker"] = phrase.speaker
        item.update(
            offsetMilliseconds=phrase.offset_ms,
            durationMilliseconds=phrase.duration_ms,
            text=phrase.display,
            words=[
                {"text": w.display, "offsetMilliseconds": w.offset_ms, "durationMilliseconds": w.duration_ms}
                for w in phrase.words
            ],
            locale=phrase.locale,
            confidence=phrase.confidence,
        )
        phrases.append(item)
    return {"durationMilliseconds": transcript.duration_ms, "combinedPhrases": combined, "phrases": phrases}
