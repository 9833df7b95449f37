"""The app's functions, indexed once.

``FunctionApp.get_functions()`` may be called only once per app object (a second call fails its
unique-name check), exactly like the worker's own indexing; every test module reads it from here.
"""

from __future__ import annotations

from functools import cache

import azure.functions as func


@cache
def app_functions() -> dict[str, object]:
    from function_app import app

    return {f.get_function_name(): f for f in app.get_functions()}


def binding_dicts(name: str) -> list[dict]:
    """A function's bindings as plain dicts (enum values unwrapped), as the host reads them."""

    def plain(value):
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.value if hasattr(value, "value") else value

    return [{k: plain(v) for k, v in b.get_dict_repr().items()} for b in app_functions()[name].get_bindings()]


def user_function(name: str):
    """The decorated Python function itself, callable with ``func.HttpRequest`` or a ``BlobClient``."""
    return app_functions()[name].get_user_function()


def call_http(name: str, req: func.HttpRequest) -> func.HttpResponse:
    return user_function(name)(req)


def post_transcription(body: bytes, **params: str) -> func.HttpResponse:
    """``POST /api/transcriptions`` with ``body`` as the audio, as the host would deliver it."""
    req = func.HttpRequest("POST", "http://localhost/api/transcriptions", body=body, params=params,
                           headers={"content-type": "audio/wav"})
    return call_http("transcribe_http", req)
