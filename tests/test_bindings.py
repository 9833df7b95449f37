"""Binding metadata pinned through ``app.get_functions()``: a renamed setting fails here, not in Azure."""

from __future__ import annotations

from shared.settings import INPUT_CONTAINER, STORAGE_CONNECTION
from tests.app_functions import app_functions, binding_dicts, user_function


def bindings() -> dict[str, list[dict]]:
    return {name: binding_dicts(name) for name in app_functions()}


#: function → (route, methods, auth level): the HTTP surface that ``openapi.yaml`` describes.
HTTP_ROUTES = {
    "transcribe_http": ("transcriptions", ["POST"], "function"),
    "list_transcriptions": ("transcriptions", ["GET"], "function"),
    "get_transcription": ("transcriptions/{id}", ["GET"], "function"),
    "delete_transcription": ("transcriptions/{id}", ["DELETE"], "function"),
    "get_transcript": ("transcriptions/{id}/transcript", ["GET"], "function"),
    "create_upload": ("uploads", ["POST"], "function"),
    "openapi": ("openapi.yaml", ["GET"], "anonymous"),
    "health": ("health", ["GET"], "anonymous"),
}


def test_the_app_has_exactly_these_functions():
    assert set(bindings()) == {"transcribe_blob", *HTTP_ROUTES}


def test_every_http_route_is_pinned_and_described_in_the_openapi_contract():
    import yaml

    from tests.app_functions import OPENAPI

    paths = yaml.safe_load(OPENAPI.read_text())["paths"]
    for name, (route, methods, auth) in HTTP_ROUTES.items():
        trigger, output = bindings()[name]
        assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, auth), name
        assert output == {"direction": 1, "type": "http", "name": "$return"}
        assert methods[0].lower() in paths[f"/{route}"], f"openapi.yaml lacks {methods[0]} /{route}"
    described = {(path.lstrip("/"), method.upper()) for path, ops in paths.items() for method in ops
                 if method in ("get", "post", "put", "delete", "patch")}
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
