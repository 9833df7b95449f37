"""The one response shape of every route: JSON bodies, JSON errors, settings loaded once per request.

An error is always ``{"error": {"code", "message", "sdk_error_code"?, "details"?}}`` with the status
code its class in ``shared.errors`` names, so the same fault answers the same way on every route.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import azure.functions as func

from shared.errors import TranscriptionError
from shared.settings import Settings

log = logging.getLogger(__name__)

#: A route's body: the request and this request's settings in, a response out.
Handler = Callable[[func.HttpRequest, Settings], func.HttpResponse]


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """``body`` as UTF-8 JSON."""
    return func.HttpResponse(json.dumps(body, ensure_ascii=False), status_code=status, headers=headers,
                             mimetype="application/json", charset="utf-8")


def error_response(error: TranscriptionError) -> func.HttpResponse:
    """The JSON error for ``error``, with the status code its class names (and ``Retry-After`` on a 503).

    The body is the error's public form: the SDK's details stay in the log line ``route`` writes.
    """
    headers = None
    if error.http_status == 503 and error.retry_after_seconds:
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return json_response({"error": error.public_dict()}, error.http_status, headers)


def text_response(text: str, content_type: str) -> func.HttpResponse:
    """A text body (a transcript rendered as text, subtitles, the contract) as UTF-8."""
    return func.HttpResponse(text, status_code=200, mimetype=content_type, charset="utf-8")


def route(handler: Handler) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Load the settings once for the request, run ``handler``, answer any typed error as JSON.

    A bad setting is a ``ConfigurationError`` like any other: 500 with the setting's name.
    """
    @functools.wraps(handler)
    def answer(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req, Settings.from_env())
        except TranscriptionError as error:
            log.warning("%s %s: %s: %s%s", req.method, urlsplit(req.url).path, error.code, error.message,
                        f" ({error.details})" if error.details else "")
            return error_response(error)

    return answer
