"""The REST APIs on the emulator's port: routes, and the checks every request passes through in the service's order.

For the fast and batch APIs: an unknown ``fault`` is refused (400), then the token (401, with
``--require-token``; the same check as the websocket's), then an injected ``reject-*`` fault, then the
rate limit (429 with ``Retry-After``), then ``api-version`` (2024-11-15 or 2025-10-15), then the operation.
Two routes are open: a result file's ``contentUrl`` (it carries its own token, like the service's SAS
links) and ``POST /emulator/faults`` (the emulator's control, like the identity endpoint's ``/faults``).
One log line per request: method, path, status, seconds, fault.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from .auth import AuthError, AuthPolicy, authorize
from .batch import BatchService, BatchSettings
from .batchrequest import not_found, parse_submission
from .blobsource import BlobSource
from .fast import DropConnection, FastSettings, FastTranscription
from .httpio import Body, HttpError, Request, Response, gateway_error, send, service_error
from .restfaults import APIS, FAULT_PARAMETER, FaultPlan, RateLimit, RestFault, RestFaultKind, parse_rest_fault
from .webhooks import WebHooks
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator.rest")

API_VERSIONS = ("2024-11-15", "2025-10-15")
#: JSON bodies (a submission, a web hook) are small.
JSON_LIMIT = 1024 * 1024

Handler = Callable[[Request, Body, RestFault | None, dict[str, str]], Awaitable[Response]]


@dataclass(frozen=True)
class RestSettings:
    auth: AuthPolicy = field(default_factory=AuthPolicy)
    fast: FastSettings = field(default_factory=FastSettings)
    batch: BatchSettings = field(default_factory=BatchSettings)
    retry_after: int = 1  # seconds, on an injected 429
    fast_rate: int = 600  # requests per minute (0: no limit)
    batch_rate: int = 100  # requests per 10 s (0: no limit)


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    api: str | None  # fast, batch, or None for an open route
    name: str  # the RestApi method that answers
    planned: bool = False  # takes the --fast-fault / --batch-fault plan (the API's main operation)


def _route(method: str, pattern: str, api: str | None, name: str, planned: bool = False) -> _Route:
    return _Route(method, re.compile(f"^{pattern}$"), api, name, planned)


_ID = "(?P<id>[^/]+)"
_ROUTES = (
    _route("POST", "/speechtotext/transcriptions:transcribe", "fast", "transcribe", planned=True),
    _route("POST", "/speechtotext/transcriptions:submit", "batch", "submit", planned=True),
    _route("GET", f"/speechtotext/transcriptions/{_ID}", "batch", "get"),
    _route("DELETE", f"/speechtotext/transcriptions/{_ID}", "batch", "delete"),
    _route("GET", f"/speechtotext/transcriptions/{_ID}/files", "batch", "files"),
    _route("GET", f"/speechtotext/transcriptions/{_ID}/files/(?P<file>[^/]+)", "batch", "file"),
    _route("POST", "/speechtotext/webhooks", "batch", "register"),
    _route("GET", "/speechtotext/webhooks", "batch", "hooks"),
    _route("GET", f"/speechtotext/webhooks/{_ID}", "batch", "hook"),
    _route("DELETE", f"/speechtotext/webhooks/{_ID}", "batch", "unregister"),
    _route("GET", f"/speechtotext/artifacts/{_ID}/(?P<file>[^/]+)", None, "content"),
    _route("POST", "/emulator/faults", None, "faults"),
)


class RestApi:
    """Fast and batch transcription, web hooks, and the fault control, sharing the recognition worker."""

    def __init__(self, settings: RestSettings, worker: RecognitionWorker, source: BlobSource, webhooks: WebHooks):
        self.settings = settings
        self.plan = FaultPlan()
        self.fast = FastTranscription(worker, settings.fast)
        self.batch = BatchService(worker, source, webhooks, settings.batch)
        self.webhooks = webhooks
        self._limits = {"fast": RateLimit(settings.fast_rate, 60.0), "batch": RateLimit(settings.batch_rate, 10.0)}

    def close(self) -> None:
        """Stop background work: batch processing and web hook calls."""
        self.batch.close()
        self.webhooks.close()

    async def handle(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one request on its own connection (the front's REST handler)."""
        started, body, fault, status = time.monotonic(), None, None, 0
        path = head.split(b" ", 2)[1].decode("latin-1", "replace").split("?")[0] if head.count(b" ") >= 2 else "?"
        try:
            request = Request.parse(head)
            body = Body(request, reader, writer)
            route, params = self._match(request)
            if route.api is not None:
                fault = self._fault(request, route)
                self._admit(request, route.api, fault)
            handler: Handler = getattr(self, f"_{route.name}")
            response: Response | None = await handler(request, body, fault, params)
        except HttpError as exc:
            response = exc.response()
        except DropConnection as exc:
            response, status = None, -1
            if exc.reset:
                writer.transport.abort()
        except (asyncio.IncompleteReadError, ConnectionError):
            response, status = None, -2  # the client went away mid-request
        if response is not None:
            status = response.status
            await send(writer, response)
            if body is not None:
                await body.discard()
        outcome = {-1: "dropped", -2: "client-gone"}.get(status, status)
        log.info(
            "rest %s %s %.2fs fault=%s", path, outcome, time.monotonic() - started, fault.name if fault else "none"
        )

    def _match(self, request: Request) -> tuple[_Route, dict[str, str]]:
        allowed = False
        for route in _ROUTES:
            match = route.pattern.match(request.path)
            if match:
                if route.method == request.method:
                    return route, match.groupdict()
                allowed = True
        if allowed:
            raise gateway_error(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here")
        raise gateway_error(HTTPStatus.NOT_FOUND, "Resource not found")

    def _fault(self, request: Request, route: _Route) -> RestFault | None:
        try:
            fault = parse_rest_fault(request.query.get(FAULT_PARAMETER), route.api or "fast")
        except ValueError as exc:
            raise service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(exc)) from None
        return fault or (self.plan.take(route.api or "fast") if route.planned else None)

    def _admit(self, request: Request, api: str, fault: RestFault | None) -> None:
        """Token, injected refusal, rate limit, API version: the checks before any operation."""
        try:
            authorize(request.headers, self.settings.auth)
        except AuthError as exc:
            raise gateway_error(HTTPStatus.UNAUTHORIZED, f"Access denied: {exc}.") from None
        if fault is not None and fault.kind is RestFaultKind.REJECT:
            raise _rejection(fault.status, self.settings.retry_after)
        wait = self._limits[api].admit()
        if wait is not None:
            raise gateway_error(HTTPStatus.TOO_MANY_REQUESTS, "Rate limit is exceeded.", retry_after=wait)
        version = request.query.get("api-version")
        if version not in API_VERSIONS:
            message = f"api-version must be one of {', '.join(API_VERSIONS)}, not {version!r}."
            raise service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", message, "InvalidParameterValue")

    # -- fast ------------------------------------------------------------------------------------
    async def _transcribe(self, request: Request, body: Body, fault: RestFault | None, _p: dict) -> Response:
        return await self.fast.handle(request, body, fault)

    # -- batch -----------------------------------------------------------------------------------
    async def _submit(self, request: Request, body: Body, fault: RestFault | None, _p: dict) -> Response:
        submission = parse_submission(await _json(body))
        version = request.query["api-version"]
        return self.batch.submit(submission, base=request.base_url, api_version=version, fault=fault)

    async def _get(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        return Response.json(HTTPStatus.OK, self.batch.find(params["id"]).json())

    async def _delete(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        return self.batch.delete(params["id"])

    async def _files(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        return self.batch.files(params["id"])

    async def _file(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        return self.batch.file(params["id"], params["file"])

    async def _content(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        return self.batch.content(params["id"], params["file"], request.query.get("sig", ""))

    # -- web hooks -------------------------------------------------------------------------------
    async def _register(self, request: Request, body: Body, _f: RestFault | None, _p: dict) -> Response:
        hook = await self.webhooks.register(await _json(body), request.query["api-version"])
        entity = hook.json(request.base_url)
        return Response.json(HTTPStatus.CREATED, entity, {"Location": entity["self"]})

    async def _hooks(self, request: Request, _b: Body, _f: RestFault | None, _p: dict) -> Response:
        return Response.json(HTTPStatus.OK, {"values": [h.json(request.base_url) for h in self.webhooks.all()]})

    async def _hook(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        hook = self.webhooks.get(params["id"])
        if hook is None:
            raise not_found("web hook")
        return Response.json(HTTPStatus.OK, hook.json(request.base_url))

    async def _unregister(self, request: Request, _b: Body, _f: RestFault | None, params: dict) -> Response:
        self.webhooks.delete(params["id"])
        return Response(HTTPStatus.NO_CONTENT)

    # -- control ---------------------------------------------------------------------------------
    async def _faults(self, request: Request, body: Body, _f: RestFault | None, _p: dict) -> Response:
        """``{"api": "fast"|"batch", "fault": NAME, "count": N}``: the next N requests (absent: all; 0: clear)."""
        value = await _json(body)
        api, name, count = (value.get(k) for k in ("api", "fault", "count")) if isinstance(value, dict) else ("",) * 3
        if api not in APIS or (count is not None and (not isinstance(count, int) or count < 0)):
            raise service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", 'expected {"api", "fault", "count"}')
        try:
            fault = parse_rest_fault(name, api)
        except ValueError as exc:
            raise service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", str(exc)) from None
        self.plan.set(api, fault, count)
        log.info("fault plan: %s %s x%s", api, name, "all" if count is None else count)
        return Response.json(HTTPStatus.OK, {"api": api, "fault": name, "count": count})


def _rejection(status: int, retry_after: int) -> HttpError:
    """An injected refusal in the shape the service gives that status."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return gateway_error(status, "Rate limit is exceeded (fault injected).", retry_after=retry_after)
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return gateway_error(status, "Access denied (fault injected).")
    code = {500: "InternalServerError", 503: "ServiceUnavailable"}.get(
        status, "InvalidRequest" if status < 500 else "InternalServerError"
    )
    return service_error(status, code, f"HTTP {status} (fault injected).")


async def _json(body: Body) -> Any:
    try:
        return json.loads(await body.read_all(JSON_LIMIT) or b"null")
    except ValueError:
        raise service_error(
            HTTPStatus.BAD_REQUEST, "InvalidRequest", "The body is not valid JSON.", "InvalidRequestBodyFormat"
        ) from None
