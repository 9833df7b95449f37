"""The batch transcription API, one bounded request per call (``shared.platform.speech_rest``) with this
invocation's token: submit, get, list the files, read a file, delete. Every failure is typed; a transcription
the service no longer has is ``None``, not an error, since what that means depends on the caller.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ServiceRequestError

from shared.batch.request import id_from_self, submit_url, transcription_url
from shared.errors import ServiceError, SpeechTimeoutError, TranscriptionError
from shared.platform.speech_rest import refusal, run
from shared.settings import Settings

WHAT = "batch transcription"
#: Pages of a file listing followed at most (one per recording and a report: one page here).
MAX_PAGES = 10


def submit(settings: Settings, token: str, body: dict[str, object]) -> str:
    """Create the transcription; its id."""
    status, text = _call(settings, "POST", submit_url(settings.speech_endpoint), token, body)
    if status not in (200, 201):
        raise refusal(status, text, WHAT)
    found = id_from_self(_json(text).get("self"))
    if found is None:
        raise ServiceError(f"{WHAT} answered {status} without a transcription's URL", details=text[:200])
    return found


def get(settings: Settings, token: str, transcription_id: str) -> dict | None:
    """The transcription's entity (``status``, ``properties``), or ``None`` when the service has none."""
    status, text = _call(settings, "GET", transcription_url(settings.speech_endpoint, transcription_id), token)
    if status == 404:
        return None
    if status != 200:
        raise _refused_later(status, text)
    return _json(text)


def result_files(settings: Settings, token: str, transcription_id: str) -> list[dict]:
    """Every file the transcription lists (``kind``, ``links.contentUrl``), its pages followed."""
    url: str | None = transcription_url(settings.speech_endpoint, transcription_id, "/files")
    found: list[dict] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        status, text = _call(settings, "GET", url, token)
        if status != 200:
            raise _refused_later(status, text)
        page = _json(text)
        found += [f for f in page.get("values") or [] if isinstance(f, dict)]
        url = _same_host(settings, page.get("@nextLink"))
    return found


def read_file(settings: Settings, url: str) -> dict:
    """A result file by its ``contentUrl``: a link that carries its own access (a SAS), so no token is sent."""
    status, text = _call(settings, "GET", url, "")
    if status != 200:
        raise _refused_later(status, text)
    return _json(text)


def delete(settings: Settings, token: str, transcription_id: str) -> None:
    """Remove the transcription and its results from the service; one already gone is no failure."""
    status, text = _call(settings, "DELETE", transcription_url(settings.speech_endpoint, transcription_id), token)
    if status not in (200, 204, 404):
        raise _refused_later(status, text)


def _call(settings: Settings, method: str, url: str, token: str, body: object = None) -> tuple[int, str]:
    """One request, every wait within ``SPEECH_IDLE_TIMEOUT_SECONDS``; no answer is a transient error."""
    bound = settings.speech_idle_timeout_seconds
    content = None if body is None else json.dumps(body).encode("utf-8")
    headers = None if body is None else {"Content-Type": "application/json"}
    try:
        return run(method, url, token, content=content, headers=headers, stall_seconds=bound, answer_seconds=bound)
    except AzureError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ServiceRequestError):  # no connection: nothing reached the service
            raise ServiceError(f"{WHAT} took no connection", details=reason, refused_at_start=True) from None
        raise SpeechTimeoutError(f"no answer from {WHAT} within {bound:.0f} s ({method})", details=reason) from None


def _refused_later(status: int, text: str) -> TranscriptionError:
    """An error answer after the submission: a 404 names no endpoint here (the caller handles a gone one)."""
    error = refusal(status, text, WHAT)
    return ServiceError(error.message, details=error.details) if status == 404 else error


def _same_host(settings: Settings, url: object) -> str | None:
    """A ``@nextLink`` on the Speech endpoint's own host (the token goes nowhere else), or ``None``."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url).netloc == urlsplit(submit_url(settings.speech_endpoint)).netloc else None


def _json(text: str) -> dict:
    try:
        body = json.loads(text)
    except ValueError:
        raise ServiceError(f"{WHAT} answered with no JSON", details=text[:200]) from None
    if not isinstance(body, dict):
        raise ServiceError(f"{WHAT} answered with JSON that is not an object", details=text[:200])
    return body
