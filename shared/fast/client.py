"""One fast transcription request, sent on azure-core's pipeline with this invocation's token, its body read
from the recording's stream as it goes, its every wait bounded, and any failure typed.

Not the official client (``azure-ai-transcription``): it sends the audio as multipart ``files=``, which
azure-core's requests transport reads whole into memory first (``docs/engines.md``). No retry policy here:
the pipeline retries a refused request as it retries a refused real-time session (``shared.pipeline``).
"""

from __future__ import annotations

import json
import time

from azure.core.exceptions import AzureError, ServiceRequestError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import UserAgentPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from shared.errors import (
    AudioTooLargeError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ServiceError,
    SpeechTimeoutError,
    ThrottledError,
    TranscriptionError,
    UnsupportedAudioError,
)
from shared.fast.body import MultipartBody
from shared.platform.deadlines import watched_session
from shared.settings import SPEECH_ENDPOINT

_WHAT = "the fast transcription API"


def send(url: str, token: str, body: MultipartBody, *, stall_seconds: float, answer_seconds: float) -> object:
    """POST ``body`` to ``url``; the answer's JSON. A connection, or a send, that makes no progress for
    ``stall_seconds`` ends; so does the whole request after ``answer_seconds``, the upload included."""
    session, adapter = watched_session()
    transport = RequestsTransport(
        session=session, session_owner=True, connection_timeout=stall_seconds, read_timeout=answer_seconds
    )
    headers = {"Content-Type": body.content_type, "Accept": "application/json"}
    if token:  # none with TOKEN_CREDENTIAL=none (an open emulator or container)
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    with Pipeline(transport=transport, policies=[UserAgentPolicy(sdk_moniker="stt-pipeline")]) as pipe:
        adapter.arm(answer_seconds)
        try:
            response = pipe.run(HttpRequest("POST", url, headers=headers, content=body)).http_response
        except AzureError as exc:
            raise _unanswered(exc, body, time.monotonic() - started, answer_seconds) from None
        status, text = response.status_code, response.text()
    if status != 200:
        raise refusal(status, text)
    try:
        return json.loads(text)
    except ValueError:
        raise ServiceError(f"{_WHAT} answered 200 without a transcript", details=text[:200]) from None


def _unanswered(exc: AzureError, body: MultipartBody, waited: float, bound: float) -> TranscriptionError:
    """What a request that got no answer met: its bound, no connection at all, or a connection that closed."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    sent = f"{body.sent} of {len(body)} bytes sent"
    if waited >= bound:
        return SpeechTimeoutError(f"no answer from {_WHAT} within {bound:.0f} s ({sent})", details=reason)
    if body.sent == 0 and isinstance(exc, ServiceRequestError):
        return ServiceError(f"{_WHAT} took no connection", details=reason, refused_at_start=True)
    return ServiceError(
        f"{_WHAT} closed the connection without an answer ({sent})", details=reason, refused_at_start=True
    )


def refusal(status: int, text: str) -> TranscriptionError:
    """The typed error for an answer other than 200: 429 and 5xx may pass (tried again), the rest will not."""
    code, message = _service_error(text)
    said = f"HTTP {status}{f' {code}' if code else ''}"
    details = message or text[:200]
    if status in (401, 403):
        return AuthenticationError(f"{_WHAT} refused this app's token ({said})", details=details, sdk_error_code=code)
    if status == 404:
        return ConfigurationError(f"{SPEECH_ENDPOINT} serves no fast transcription ({said})", details=details)
    if status == 413:
        return AudioTooLargeError(f"{_WHAT} refused the audio as too large ({said})", details=details)
    if status in (415, 422):
        return UnsupportedAudioError(f"{_WHAT} could not decode the audio ({said}): {message}", details=details)
    if status == 429:
        return ThrottledError(f"{_WHAT} is over its request quota ({said})", details=details, refused_at_start=True)
    if status == 408 or status >= 500:
        return ServiceError(f"{_WHAT} failed ({said})", details=details, sdk_error_code=code, refused_at_start=True)
    return BadRequestError(f"{_WHAT} refused the request ({said}): {message}", details=details, sdk_error_code=code)


def _service_error(text: str) -> tuple[str, str]:
    """``(code, message)`` of an error answer, in the API's shape (``innerError``) or the gateway's."""
    try:
        body = json.loads(text)
    except ValueError:
        return "", ""
    error = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        return "", ""
    inner = error.get("innerError") if isinstance(error.get("innerError"), dict) else {}
    code = inner.get("code") or error.get("code") or ""
    return str(code)[:60], str(error.get("message") or "")[:300]
