"""Binding metadata pinned through ``app.get_functions()``: a renamed setting fails here, not in Azure."""

from __future__ import annotations

from shared.settings import INPUT_CONTAINER, STORAGE_CONNECTION, SWEEP_SCHEDULE
from tests.app_functions import app_functions, binding_dicts, user_function


def bindings() -> dict[str, list[dict]]:
    return {name: binding_dicts(name) for name in app_functions()}


#: function → (route, methods, auth level): the HTTP surface that ``openapi.yaml`` describes.
HTTP_ROUTES = {
    "create_transcription": ("transcriptions", ["POST"], "function"),
    "list_transcriptions": ("transcriptions", ["GET"], "function"),
    "get_transcription": ("transcriptions/{id}", ["GET"], "function"),
    "delete_transcription": ("transcriptions/{id}", ["DELETE"], "function"),
    "get_transcript": ("transcriptions/{id}/transcript", ["GET"], "function"),
    "create_upload": ("uploads", ["POST"], "function"),
    "openapi": ("openapi.yaml", ["GET"], "anonymous"),
    "health": ("health", ["GET"], "anonymous"),
    # anonymous: the HMAC of each call is its key (a function key would sit in the URL the service keeps)
    "speech_callback": ("speech-callbacks", ["POST"], "anonymous"),
}


def test_the_app_has_exactly_these_functions():
    assert set(bindings()) == {"transcribe_blob", "sweep", *HTTP_ROUTES}


def test_the_sweep_runs_on_the_schedule_its_app_setting_names():
    (trigger,) = bindings()["sweep"]
    assert trigger == {
        "direction": 0,
        "type": "timerTrigger",
        "name": "timer",
        "schedule": f"%{SWEEP_SCHEDULE}%",
        "runOnStartup": False,
        "useMonitor": True,
    }


def test_every_http_route_is_pinned_and_described_in_the_openapi_contract():
    import yaml

    from tests.app_functions import OPENAPI

    paths = yaml.safe_load(OPENAPI.read_text())["paths"]
    for name, (route, methods, auth) in HTTP_ROUTES.items():
        trigger, output = bindings()[name]
        assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, auth), name
        assert output == {"direction": 1, "type": "http", "name": "$return"}
        assert methods[0].lower() in paths[f"/{route}"], f"openapi.yaml lacks {methods[0]} /{route}"
    described = {
        (path.lstrip("/"), method.upper())
        for path, ops in paths.items()
        for method in ops
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert described == {(route, m) for route, methods, _ in HTTP_ROUTES.values() for m in methods}


def test_blob_trigger_is_event_grid_sourced_on_the_input_container():
    (trigger,) = bindings()["transcribe_blob"]
    assert trigger == {
        "direction": 0,  # in
        "type": "blobTrigger",
        "name": "client",
        "path": f"%{INPUT_CONTAINER}%/{{name}}",
        "connection": STORAGE_CONNECTION,
        "source": "EventGrid",
    }


def test_transcriptions_route_needs_a_function_key():
    trigger, output = bindings()["create_transcription"]
    assert trigger["type"] == "httpTrigger"
    assert trigger["route"] == "transcriptions"
    assert trigger["authLevel"] == "function"
    assert trigger["methods"] == ["POST"]
    assert output == {"direction": 1, "type": "http", "name": "$return"}


def test_health_is_anonymous_and_get_only():
    trigger, _ = bindings()["health"]
    assert trigger["route"] == "health"
    assert trigger["authLevel"] == "anonymous"
    assert trigger["methods"] == ["GET"]


def test_blob_binding_uses_sdk_types_so_audio_is_streamed():
    import inspect

    import azurefunctions.extensions.bindings.blob as blob

    annotation = inspect.signature(user_function("transcribe_blob")).parameters["client"].annotation
    assert annotation in (blob.BlobClient, "blob.BlobClient")


def test_the_blob_door_counts_deliveries_as_the_host_does():
    """On the host's last delivery the door records a transient failure instead of raising it (so the event is
    never poisoned and the sweep takes over): it must know which delivery is the last."""
    import json

    from shared.platform.retry_policy import MAX_DELIVERIES
    from tests.app_functions import OPENAPI

    host = json.loads((OPENAPI.parent / "host.json").read_text())
    assert host["extensions"]["blobs"]["poisonBlobThreshold"] == MAX_DELIVERIES


def test_an_invocation_that_uses_its_whole_retry_budget_and_deadline_still_ends_before_the_host_kills_it():
    """``functionTimeout`` must outlast the longest invocation the settings allow: the sweep's last start, the
    start retries, then a session at its deadline (a 240-minute recording at real-time pace)."""
    import json

    import pytest

    from shared.errors import ConfigurationError
    from shared.platform.retry_policy import FUNCTION_TIMEOUT_SECONDS, SWEEP_RUN_SECONDS
    from shared.settings import Settings
    from tests.app_functions import OPENAPI

    hours, minutes, seconds = json.loads((OPENAPI.parent / "host.json").read_text())["functionTimeout"].split(":")
    assert int(hours) * 3600 + int(minutes) * 60 + int(seconds) == FUNCTION_TIMEOUT_SECONDS
    defaults = Settings.from_env({"SPEECH_ENDPOINT": "ws://127.0.0.1:1"})
    assert defaults.transcription_deadline_seconds >= defaults.max_audio_minutes * 60
    longest = defaults.speech_start_retry_seconds + defaults.transcription_deadline_seconds
    # a blob invocation, with 5 minutes to spare; the sweep's recordings run inside one timer invocation
    assert SWEEP_RUN_SECONDS + longest + 300 <= FUNCTION_TIMEOUT_SECONDS
    # and no setting can take that room away: the host would kill the invocation before it recorded anything
    for setting, value in (("SPEECH_START_RETRY_SECONDS", "900"), ("TRANSCRIPTION_DEADLINE_SECONDS", "15600")):
        with pytest.raises(ConfigurationError, match=f"{setting}.*functionTimeout"):
            Settings.from_env({"SPEECH_ENDPOINT": "ws://127.0.0.1:1", setting: value})


def test_the_example_local_settings_name_every_setting_a_binding_reads():
    """``func start`` with the example settings must index every function: a %NAME% it lacks stops the host."""
    import json
    import re

    from tests.app_functions import OPENAPI

    example = json.loads((OPENAPI.parent / "local.settings.example.json").read_text())["Values"]
    wanted = {
        name
        for bindings_ in bindings().values()
        for binding in bindings_
        for value in binding.values()
        for name in re.findall(r"%(\w+)%", str(value))
    }
    assert wanted, wanted - set(example)
    assert wanted <= set(example), wanted - set(example)
