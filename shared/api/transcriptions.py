"""``POST /api/transcriptions``: the body is a recording, answered in the request when short; longer audio
(``SYNC_MAX_BYTES``, ``SYNC_MAX_SECONDS``), ``Prefer: respond-async`` or ``engine=batch`` (minutes to hours)
becomes a job (202), since the platform ends an HTTP request after 230 s.
"""

from __future__ import annotations

import gc
import io

import azure.functions as func

from shared.api.negotiation import format_parameter
from shared.api.request_options import query_options
from shared.api.responses import route, text_response
from shared.audio import AudioDecoder, AudioFound
from shared.engines import choose_engine
from shared.errors import AudioTooLargeError, InvalidRequestError
from shared.jobs.names import audio_extension
from shared.options import RecognitionOptions
from shared.options.declared import BATCH
from shared.pipeline import transcribe_audio
from shared.settings import Settings

#: A refused session start is retried for at most this long inside a request (it must end within 230 s);
#: past it the client gets 503 ``throttled`` with ``Retry-After``.
HTTP_START_RETRY_SECONDS = 20.0


@route
def create_transcription(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """The transcript (200, in the ``?format=`` asked for), or a job (202) for long audio; the query's options
    (``?languages=en-US,de-DE&words=true``) are checked before the body is looked at."""
    output = format_parameter(req)
    options = query_options(req, settings)
    declared = req.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > settings.http_max_bytes:  # "²" is a digit
        raise _too_large(int(declared), settings)
    body = req.get_body()
    if not body:
        raise InvalidRequestError("send the audio file as the request body")
    if len(body) > settings.http_max_bytes:
        raise _too_large(len(body), settings)
    asked_async = "respond-async" in req.headers.get("prefer", "").lower()
    try:
        # bad audio, and audio declaring more than MAX_AUDIO_MINUTES, is refused here: job or not
        found = _checked(body, settings, options)
        if (
            asked_async
            or options.engine == BATCH
            or len(body) > settings.sync_max_bytes
            or (found.declared_seconds is not None and found.declared_seconds > settings.sync_max_seconds)
        ):
            from shared.api.jobs import submit

            return submit(settings, body, audio_extension(found.container), asked=asked_async, options=options)
        transcript = transcribe_audio(
            settings,
            io.BytesIO(body),
            {"name": "http-request", "size": len(body)},
            options=options,
            start_retry_seconds=min(settings.speech_start_retry_seconds, HTTP_START_RETRY_SECONDS),
        )
    finally:
        del body
        gc.collect()  # collect after each invocation, as the blob door does
    return text_response(output.render(transcript), output.content_type)


def _checked(body: bytes, settings: Settings, options: RecognitionOptions) -> AudioFound:
    """What the body is; with ``engine=batch``, what batch cannot take is refused now, not by the job later."""
    with AudioDecoder(
        io.BytesIO(body), channel_mode=settings.channel_mode, max_seconds=settings.max_audio_minutes * 60
    ) as decoder:
        if options.engine == BATCH:
            choose_engine(options, decoder.found, len(body), decoder.channel_mode)
        return decoder.found


def _too_large(size: int, settings: Settings) -> AudioTooLargeError:
    return AudioTooLargeError(
        f"the body is {size} bytes; this endpoint takes up to {settings.http_max_bytes} bytes "
        f"(HTTP_MAX_BYTES). For larger files ask POST /api/uploads for an upload URL."
    )
