"""The Speech service's REST APIs (fast and batch transcription) on ``SPEECH_ENDPOINT``'s host: their URLs, one
bounded request on azure-core's pipeline with this invocation's token, and an error answer typed by its status.

No retry policy in the pipeline: a refused start is retried by ``shared.platform.start_retries``, the same as a
refused real-time session.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

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
    ThrottledError,
    TranscriptionError,
    UnsupportedAudioError,
)
from shared.platform.deadlines import watched_session
from shared.settings import SPEECH_ENDPOINT

#: ``SPEECH_ENDPOINT``'s scheme for the REST APIs on the same host: the emulator's ws:// serves http://.
_REST_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def rest_url(endpoint: str, path: str, api_version: str) -> str:
    """``path`` on ``SPEECH_ENDPOINT``'s host (a custom domain as is, a ws:// host as http://)."""
    parts = urlsplit(endpoint)
    return f"{_REST_SCHEMES[parts.scheme]}://{parts.netloc}{path}?api-version={api_version}"


def run(
    method: str,
    url: str,
    token: str,
    *,
    content: object = None,
    headers: dict[str, str] | None = None,
    stall_seconds: float,
    answer_seconds: float,
) -> tuple[int, str]:
    """One request: ``(status, text)``. A connection, or a send, that makes no progress for ``stall_seconds``
    ends, and so does the whole request after ``answer_seconds``; raises azure-core's ``AzureError`` then."""
    session, adapter = watched_session()
    transport = RequestsTransport(
        session=session, session_owner=True, connection_timeout=stall_seconds, read_timeout=answer_seconds
    )
    sent = {"Accept": "application/json", **(headers or {})}
    if token:  # none with TOKEN_CREDENTIAL=none (an open emulator or container)
        sent["Authorization"] = f"Bearer {token}"
    with Pipeline(transport=transport, policies=[UserAgentPolicy(sdk_moniker="stt-pipeline")]) as pipe:
        adapter.arm(answer_seconds)
        response = pipe.run(HttpRequest(method, url, headers=sent, content=content)).http_response
        return response.status_code, response.text()


def refusal(status: int, text: str, what: str) -> TranscriptionError:
    """The typed error for an error answer of ``what`` (an API): 429 and 5xx may pass (tried again), the rest
    will not."""
    code, message = service_error(text)
    said = f"HTTP {status}{f' {code}' if code else ''}"
    details = message or text[:200]
    if status in (401, 403):
        return AuthenticationError(f"{what} refused this app's token ({said})", details=details, sdk_error_code=code)
    if status == 404:
        return ConfigurationError(f"{SPEECH_ENDPOINT} serves no {what} ({said})", details=details)
    if status == 413:
        return AudioTooLargeError(f"{what} refused the audio as too large ({said})", details=details)
    if status in (415, 422):
        return UnsupportedAudioError(f"{what} could not decode the audio ({said}): {message}", details=details)
    if status == 429:
        return ThrottledError(f"{what} is over its request quota ({said})", details=details, refused_at_start=True)
    if status == 408 or status >= 500:
        return ServiceError(f"{what} failed ({said})", details=details, sdk_error_code=code, refused_at_start=True)
    return BadRequestError(f"{what} refused the request ({said}): {message}", details=details, sdk_error_code=code)


def service_error(text: str) -> tuple[str, str]:
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
