"""Binding metadata pinned through ``app.get_functions()``: a renamed setting fails here, not in Azure."""

from __future__ import annotations

from shared.settings import INPUT_CONTAINER, STORAGE_CONNECTION
from tests.app_functions import app_functions, binding_dicts, user_function


def bindings() -> dict[str, list[dict]]:
    return {name: binding_dicts(name) for name in app_functions()}


def test_the_app_has_exactly_these_functions():
    assert set(bindings()) == {"transcribe_blob", "transcribe_http", "health"}


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
    trigger, output = bindings()["transcribe_http"]
    assert trigger["type"] == "httpTrigger" and trigger["route"] == "transcriptions"
    assert trigger["authLevel"] == "function"
    assert trigger["methods"] == ["POST"]
    assert output == {"direction": 1, "type": "http", "name": "$return"}


def test_health_is_anonymous_and_get_only():
    trigger, _ = bindings()["health"]
    assert trigger["route"] == "health" and trigger["authLevel"] == "anonymous"
    assert trigger["methods"] == ["GET"]


def test_blob_binding_uses_sdk_types_so_audio_is_streamed():
    import inspect

    import azurefunctions.extensions.bindings.blob as blob

    annotation = inspect.signature(user_function("transcribe_blob")).parameters["client"].annotation
    assert annotation in (blob.BlobClient, "blob.BlobClient")
