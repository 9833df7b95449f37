"""One fast transcription request (``shared.platform.speech_rest``) with this invocation's token, its body read
from the recording's stream as it goes, its every wait bounded, and any failure typed.

Not the official client (``azure-ai-transcription``): it sends the audio as multipart ``files=``, which
azure-core's requests transport reads whole into memory first (``docs/engines.md``). No retry policy here:
the pipeline retries a refused request as it retries a refused real-time session (``shared.pipeline``).
"""

from __future__ import annotations

import json
import time

from azure.core.exceptions import AzureError, ServiceRequestError

from shared.errors import ServiceError, SpeechTimeoutError, TranscriptionError
from shared.fast.body import MultipartBody
from shared.platform.speech_rest import refusal, run

_WHAT = "the fast transcription API"


def send(url: str, token: str, body: MultipartBody, *, stall_seconds: float, answer_seconds: float) -> object:
    """POST ``body`` to ``url``; the answer's JSON. A connection, or a send, that makes no progress for
    ``stall_seconds`` ends; so does the whole request after ``answer_seconds``, the upload included."""
    started = time.monotonic()
    try:
        status, text = run(
            "POST",
            url,
            token,
            content=body,
            headers={"Content-Type": body.content_type},
            stall_seconds=stall_seconds,
            answer_seconds=answer_seconds,
        )
    except AzureError as exc:
        raise _unanswered(exc, body, time.monotonic() - started, answer_seconds) from None
    if status != 200:
        raise refusal(status, text, _WHAT)
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
