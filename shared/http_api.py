"""The HTTP door: request in, JSON (or text) out, errors as JSON with the right status code.

Kept apart from ``function_app.py`` so the function file stays wiring only, and so the mapping from
our error taxonomy to status codes lives in one place.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import re
from pathlib import Path

import azure.functions as func

from shared.audio import probe
from shared.errors import AudioTooLargeError, ConfigurationError, TranscriptionError
from shared.pipeline import transcribe_audio
from shared.settings import Settings
from shared.subtitles import FORMATS

log = logging.getLogger(__name__)



def error_response(status: int, code: str, message: str, **extra: object) -> func.HttpResponse:
    body = {"error": {"code": code, "message": message, **extra}}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _error(error: TranscriptionError) -> func.HttpResponse:
    body = error.to_dict()
    return error_response(error.http_status, body.pop("code"), body.pop("message"), **body)


def transcribe(req: func.HttpRequest) -> func.HttpResponse:
    """``POST /api/transcriptions``: the body is a recording in any format ``shared.audio`` decodes.

    Short audio is transcribed in the request (200, ``?format=`` json/txt/srt/vtt). Audio over
    ``SYNC_MAX_BYTES`` or declaring more than ``SYNC_MAX_SECONDS``, or a request with
    ``Prefer: respond-async``, becomes a job (202, ``shared.jobs_api.submit``): the platform ends an
    HTTP request after 230 s, far less than an hour-long meeting takes.
    """
    fmt = (req.params.get("format") or "json").lower()
    if fmt not in FORMATS:
        return error_response(400, "bad_format", f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        return _error(error)
    declared = req.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.http_max_bytes:
        return _error(_too_large(int(declared), settings))
    body = req.get_body()
    if not body:
        return error_response(400, "empty_body", "send the audio file as the request body")
    if len(body) > settings.http_max_bytes:
        return _error(_too_large(len(body), settings))
    asked_async = "respond-async" in req.headers.get("prefer", "").lower()
    try:
        found = probe(io.BytesIO(body))  # bad audio is refused here, job or not
        if asked_async or len(body) > settings.sync_max_bytes or (
            found.declared_seconds is not None and found.declared_seconds > settings.sync_max_seconds
        ):
            from shared import jobs_api

            return jobs_api.submit(settings, body, _extension(found.container), asked=asked_async)
        transcript = transcribe_audio(settings, io.BytesIO(body), {"name": "http-request", "size": len(body)})
    except TranscriptionError as error:
        log.warning("HTTP transcription failed: %s", error.message)
        return _error(error)
    finally:
        del body
        gc.collect()  # Fix 3A, as on the blob path
    output = FORMATS[fmt]
    return func.HttpResponse(output.render(transcript), status_code=200, mimetype=output.content_type,
                             charset="utf-8")


def _extension(container: str) -> str:
    """A file extension for the stored job audio, from the container found (not the client's word)."""
    return container if re.fullmatch(r"[a-z0-9]{1,10}", container) else "bin"


def _too_large(size: int, settings: Settings) -> AudioTooLargeError:
    return AudioTooLargeError(
        f"the body is {size} bytes; this endpoint takes up to {settings.http_max_bytes} bytes "
        f"(HTTP_MAX_BYTES). For larger files ask POST /api/uploads for an upload URL."
    )


def health(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/health``: is the configuration complete? Never includes a secret."""
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        body = {"status": "misconfigured", "error": error.to_dict()}
        return func.HttpResponse(json.dumps(body), status_code=503, mimetype="application/json")
    problems = [] if settings.storage else ["storage connection settings are missing"]
    body = {"status": "misconfigured" if problems else "ok", "problems": problems, "settings": settings.describe()}
    return func.HttpResponse(json.dumps(body), status_code=503 if problems else 200, mimetype="application/json")


#: The API contract, deployed beside ``function_app.py``.
OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/openapi.yaml``: the contract every route's responses are tested against."""
    return func.HttpResponse(OPENAPI_PATH.read_text(encoding="utf-8"), status_code=200,
                             mimetype="application/yaml", charset="utf-8")
