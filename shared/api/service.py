"""The service's own routes: ``GET /api/health`` (is the configuration complete?) and the contract."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func

from shared.api.responses import json_response, text_response
from shared.errors import ConfigurationError, TranscriptionError
from shared.settings import Settings

#: The API contract, deployed beside ``function_app.py``.
OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 ``ok`` with the settings in use (never a secret), or 503 ``misconfigured`` saying what is wrong.

    Besides the settings themselves, it checks what the settings name: the input and output containers
    and the completion queue must exist and let this app's identity in. A missing output container
    would otherwise be found only after a whole Speech session, on every delivery.
    """
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        return json_response({"status": "misconfigured", "problems": [problem(error)], "error": error.public_dict()},
                             503)
    problems = storage_problems(settings)
    body = {"status": "misconfigured" if problems else "ok", "problems": problems, "settings": settings.describe()}
    return json_response(body, 503 if problems else 200)


def storage_problems(settings: Settings) -> list[str]:
    """What is wrong with the storage the settings name, one sentence each (empty: nothing)."""
    if settings.storage is None:
        return [problem(ConfigurationError("storage connection settings are missing"))]
    from shared import storage

    try:
        with storage.connect(settings) as clients:
            return storage.missing_resources(clients, settings)
    except TranscriptionError as error:  # a malformed connection string too (a ConfigurationError)
        return [problem(error)]


def problem(error: TranscriptionError) -> str:
    """One line of ``problems``: the error's code and its public message, the same for every problem."""
    return f"{error.code}: {error.public_dict()['message']}"


def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/openapi.yaml``: the contract every route's responses are tested against."""
    return text_response(OPENAPI_PATH.read_text(encoding="utf-8"), "application/yaml")
