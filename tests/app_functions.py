"""The app's functions, indexed once, and an HTTP client for them that checks the API contract.

``FunctionApp.get_functions()`` may be called only once per app object (a second call fails its
unique-name check), exactly like the worker's own indexing; every test module reads it from here.
``api(method, url)`` routes a request the way the host does (by the routes in the binding metadata),
calls the function with a real ``func.HttpRequest``, and validates the response against
``openapi.yaml`` (openapi-core): every HTTP response in the tests is checked against the contract.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"
#: The host the contract's ``servers`` entry names (its default); only the path matters here.
CONTRACT_HOST = "https://your-function-app.azurewebsites.net"


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


@cache
def http_routes() -> list[tuple[str, re.Pattern, str]]:
    """(method, route pattern, function name) for every HTTP trigger, from the binding metadata."""
    routes = []
    for name in app_functions():
        trigger = binding_dicts(name)[0]
        if trigger["type"] != "httpTrigger":
            continue
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(trigger["route"]))
        for method in trigger["methods"]:
            routes.append((method.upper(), re.compile(f"/api/{pattern}"), name))
    return routes


def api(method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> func.HttpResponse:
    """``method url`` through the app's HTTP functions, as the host would route it; contract-checked."""
    parts = urlsplit(url)
    for route_method, pattern, name in http_routes():
        match = pattern.fullmatch(parts.path)
        if match and route_method == method.upper():
            req = func.HttpRequest(
                method.upper(),
                f"http://localhost{parts.path}",
                body=body,
                headers=headers or {},
                params=dict(parse_qsl(parts.query)),
                route_params=match.groupdict(),
            )
            return call_http(name, req)
    raise LookupError(f"no function serves {method} {parts.path}: the host would answer 404 itself")


def call_http(name: str, req: func.HttpRequest) -> func.HttpResponse:
    """Call HTTP function ``name`` with ``req``; the response must match ``openapi.yaml``."""
    response = user_function(name)(req)
    check_contract(req, response)
    return response


class DirectContext(func.Context):
    """The ``context`` the runtime injects, for tests that call a function directly: a new invocation id each."""

    def __init__(self, function_name: str) -> None:
        self._invocation_id, self._function_name = str(uuid.uuid4()), function_name

    invocation_id = property(lambda self: self._invocation_id)
    function_name = property(lambda self: self._function_name)
    function_directory = property(lambda self: str(OPENAPI.parent))
    thread_local_storage = property(lambda self: threading.local())
    trace_context = property(lambda self: None)
    retry_context = property(lambda self: None)


def invoke_blob(container: str, name: str) -> None:
    """``transcribe_blob`` called directly with the ``BlobClient`` and ``context`` the worker would give it."""
    from tests.conftest import host_blob_client

    user_function("transcribe_blob")(host_blob_client(container, name), DirectContext("transcribe_blob"))


def over_http(host, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    """``method path`` over real HTTP to the host stand-in (the app inside the runtime): the answer as a
    ``func.HttpResponse``, checked against ``openapi.yaml`` when a function served it."""
    headers = headers or {}
    request = urllib.request.Request(host.url(path), data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            status, answer_headers, data = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, data = error.code, error.headers, error.read()
    parts = urlsplit(path)
    response = func.HttpResponse(
        data,
        status_code=status,
        headers=dict(answer_headers),
        mimetype=answer_headers.get_content_type() if data else None,
    )
    served = host.invoker.http_route(method, parts.path)
    if served is not None:
        req = func.HttpRequest(
            method.upper(),
            f"http://localhost{parts.path}",
            body=body,
            headers=headers,
            params=dict(parse_qsl(parts.query)),
            route_params=served[1],
        )
        check_contract(req, response)
    return response


def post_transcription(body: bytes, headers: dict[str, str] | None = None, **params: str) -> func.HttpResponse:
    """``POST /api/transcriptions`` with ``body`` as the audio, as the host would deliver it."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api("POST", f"/api/transcriptions?{query}", body, {"content-type": "audio/wav", **(headers or {})})


def new_upload(filename: str = "meeting.wav", options: dict | None = None) -> dict:
    """``POST /api/uploads`` for a new job (its ``options`` too, when given): the 201 answer's body."""
    request = {"filename": filename, **({"options": options} if options is not None else {})}
    response = api("POST", "/api/uploads", json.dumps(request).encode(), {"content-type": "application/json"})
    assert response.status_code == 201, response.get_body()
    return json.loads(response.get_body())


# -- the contract -------------------------------------------------------------------------------------
@cache
def contract():
    from openapi_core import Config, OpenAPI

    # openapi-core decodes JSON and text/plain itself; subtitles are text too.
    def text(data: bytes) -> str:
        return data.decode("utf-8")

    config = Config(
        extra_media_type_deserializers={"application/x-subrip": text, "text/vtt": text, "application/yaml": text}
    )
    return OpenAPI.from_file_path(str(OPENAPI), config=config)


class _ContractRequest:
    """openapi-core's request protocol over a ``func.HttpRequest``."""

    def __init__(self, req: func.HttpRequest) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = CONTRACT_HOST
        self.path = urlsplit(req.url).path
        self.method = req.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(dict(req.params)),
            header=Headers(dict(req.headers)),
            cookie=ImmutableMultiDict(),
            path=dict(req.route_params),
        )
        self.content_type = req.headers.get("content-type", "application/octet-stream")
        self.body = req.get_body()


class _ContractResponse:
    def __init__(self, response: func.HttpResponse) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.data = response.get_body()
        self.content_type = response.mimetype or ""


def check_contract(req: func.HttpRequest, response: func.HttpResponse) -> None:
    """Raise if ``response`` is not one ``openapi.yaml`` allows for ``req`` (status, headers, body)."""
    contract().validate_response(_ContractRequest(req), _ContractResponse(response))
