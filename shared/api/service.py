"""The service's own routes: ``GET /api/health`` (can the service work now?) and the contract."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func

from shared.api.responses import json_response, text_response
from shared.errors import ConfigurationError, SpeechUnreachableError, TranscriptionError
from shared.platform.reachability import unreachable
from shared.settings import SPEECH_ENDPOINT, Settings

#: What ``GET /api/health`` says, overall and per check.
OK, MISCONFIGURED, UNAVAILABLE = "ok", "misconfigured", "unavailable"
#: The API contract, deployed beside ``function_app.py``.
OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 ``ok`` with the settings in use (never a secret), or 503 ``misconfigured`` (a person must act) or
    ``unavailable`` (it may pass by itself). It checks what the settings name too: a missing output container
    would otherwise be found only after a whole Speech session, on every delivery."""
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        return json_response({"status": MISCONFIGURED, "problems": [problem(error)], "error": error.public_dict()}, 503)
    storage_state, storage_problems, waiting = storage_check(settings)
    checks = {"storage": (storage_state, storage_problems), "speech": speech_check(settings)}
    states = {state for state, _ in checks.values()}
    status = MISCONFIGURED if MISCONFIGURED in states else UNAVAILABLE if UNAVAILABLE in states else OK
    body = {
        "status": status,
        "checks": {name: state for name, (state, _) in checks.items()},
        "problems": [line for _, problems in checks.values() for line in problems],
        "settings": settings.describe(),
    }
    if waiting is not None:
        body["batch"] = {"waiting": waiting}
    return json_response(body, 200 if status == OK else 503)


def storage_check(settings: Settings) -> tuple[str, list[str], int | None]:
    """The storage the settings name: its state, what is wrong (one sentence each; none: ``ok``) and, with the
    containers there, how many batch transcriptions are waiting."""
    if settings.storage is None:
        return MISCONFIGURED, [problem(ConfigurationError("storage connection settings are missing"))], None
    from shared.batch.records import count_waiting
    from shared.platform import storage

    try:
        with storage.connect(settings) as clients:
            missing = storage.missing_resources(clients, settings)
            out = clients.blobs.get_container_client(settings.output_container)
            waiting = None if missing else count_waiting(out)
    except TranscriptionError as error:  # a malformed connection string too (a ConfigurationError)
        return UNAVAILABLE if error.transient else MISCONFIGURED, [problem(error)], None
    return MISCONFIGURED if missing else OK, missing, waiting


def speech_check(settings: Settings) -> tuple[str, list[str]]:
    """Whether ``SPEECH_ENDPOINT`` takes a connection: a wrong port, scheme or host, or the service down."""
    why = unreachable(settings.speech_endpoint)
    if why is None:
        return OK, []
    return UNAVAILABLE, [problem(SpeechUnreachableError(f"{SPEECH_ENDPOINT} could not be reached: {why}"))]


def problem(error: TranscriptionError) -> str:
    """One line of ``problems``: the error's code and its public message, the same for every problem."""
    return f"{error.code}: {error.public_dict()['message']}"


def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/openapi.yaml``: the contract every route's responses are tested against."""
    return text_response(OPENAPI_PATH.read_text(encoding="utf-8"), "application/yaml")
