"""The one response shape of every route: JSON bodies, JSON errors, settings loaded once per request.

An error is always ``{"error": {"code", "message", "sdk_error_code"?}}`` (never the ``details``: they stay in
the log), with the status its class names; a bug too answers it, as 500 ``internal_error``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import azure.functions as func

from shared.errors import InternalError, TranscriptionError
from shared.settings import Settings

log = logging.getLogger(__name__)

#: A route's body: the request and this request's settings in, a response out.
Handler = Callable[[func.HttpRequest, Settings], func.HttpResponse]


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """``body`` as UTF-8 JSON; escaped to ASCII when it holds what UTF-8 cannot (an unpaired surrogate quoted
    from a request), so even such an answer is the one JSON shape and not the host's bare 500."""
    text = json.dumps(body, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(body)
    return func.HttpResponse(text, status_code=status, headers=headers, mimetype="application/json", charset="utf-8")


def error_response(error: TranscriptionError) -> func.HttpResponse:
    """The JSON error for ``error`` in its public form, with its class's status (and ``Retry-After`` on a 503)."""
    headers = None
    if error.http_status == 503 and error.retry_after_seconds:
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return json_response({"error": error.public_dict()}, error.http_status, headers)


def text_response(text: str, content_type: str) -> func.HttpResponse:
    """A text body (a transcript rendered as text, subtitles, the contract) as UTF-8."""
    return func.HttpResponse(text, status_code=200, mimetype=content_type, charset="utf-8")


def route(handler: Handler) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Load the settings once for the request, run ``handler``, answer any error as JSON: anything untyped as
    500 ``internal_error``, never the host's bare 500 nor the exception's text (it may name internals)."""

    @functools.wraps(handler)
    def answer(req: func.HttpRequest) -> func.HttpResponse:
        path = urlsplit(req.url).path
        try:
            return handler(req, Settings.from_env())
        except TranscriptionError as error:
            log.warning(
                "%s %s: %s: %s%s",
                req.method,
                path,
                error.code,
                error.message,
                f" ({error.details})" if error.details else "",
            )
            return error_response(error)
        except Exception:  # noqa: BLE001 - the one JSON shape even for a bug; the traceback is logged
            log.exception("%s %s: an unexpected failure", req.method, path)
            return error_response(
                InternalError(f"{req.method} {path} failed unexpectedly; the service's log has the cause")
            )

    return answer
