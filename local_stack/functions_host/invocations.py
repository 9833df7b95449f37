"""``InvocationRequest``s built as the host builds them for each trigger, and their responses read back.

- HTTP: ``TypedData.http`` (method, url, headers, the body as bytes, route parameters in ``params``, the query
  in ``query``); the answer is ``return_value.http``, whose ``status_code`` is a string.
- Blob (Event Grid source, SDK type): ``TypedData.model_binding_data`` naming the connection, container and
  blob, with the trigger metadata ``name``, ``BlobTrigger`` and ``Uri``.
- Timer: ``TypedData.json`` with ``Schedule``, ``ScheduleStatus`` and ``IsPastDue``.

A failed invocation raises ``WorkerError``, as the host counts it failed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from local_stack.functions_host.channel import WorkerChannel
from local_stack.functions_host.functions import IndexedFunction, resolve
from local_stack.functions_host.rpc import protos

#: The blob extension's model binding data: the version and source it decodes.
BLOB_BINDING_DATA = {"version": "1.0", "source": "AzureStorageBlobs", "content_type": "application/json"}


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class Invoker:
    """Invoke the app's functions through the worker, with the host's input shapes."""

    def __init__(
        self,
        channel: WorkerChannel,
        functions: Mapping[str, IndexedFunction],
        settings: Mapping[str, str],
        host_json: Mapping,
    ) -> None:
        self.channel, self.functions, self.settings = channel, functions, settings
        hours, minutes, seconds = host_json["functionTimeout"].split(":")
        self.timeout = int(hours) * 3600 + int(minutes) * 60 + float(seconds)

    def of_type(self, trigger_type: str) -> list[IndexedFunction]:
        return [f for f in self.functions.values() if f.trigger["type"] == trigger_type]

    def http_route(self, method: str, path: str) -> tuple[IndexedFunction, dict[str, str]] | None:
        for function in self.of_type("httpTrigger"):
            params = function.answers(method, path)
            if params is not None:
                return function, params
        return None

    def http(self, function: IndexedFunction, request: HttpRequestData, params: dict[str, str]) -> HttpAnswer:
        http = protos.RpcHttp(
            method=request.method,
            url=request.url,
            headers=request.headers,
            body=protos.TypedData(bytes=request.body),
            params=params,
            query=request.query,
        )
        response = self.invoke(function, protos.TypedData(http=http))
        answer = response.return_value.http
        return HttpAnswer(int(answer.status_code or 200), dict(answer.headers), _body_bytes(answer.body))

    def blob(self, function: IndexedFunction, container: str, name: str, url: str) -> None:
        binding = function.trigger
        content = json.dumps({"Connection": binding["connection"], "ContainerName": container, "BlobName": name})
        data = protos.TypedData(
            model_binding_data=protos.ModelBindingData(content=content.encode(), **BLOB_BINDING_DATA)
        )
        metadata = {"name": name, "BlobTrigger": f"{container}/{name}", "Uri": url}
        self.invoke(function, data, {k: protos.TypedData(string=v) for k, v in metadata.items()})

    def timer(
        self, function: IndexedFunction, last: datetime | None, next_run: datetime | None, past_due: bool = False
    ) -> None:
        status = {"Last": _iso(last), "Next": _iso(next_run), "LastUpdated": _iso(last)}
        payload = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
        self.invoke(function, protos.TypedData(json=json.dumps(payload)))

    def blob_container(self, function: IndexedFunction) -> str:
        """The container a blob trigger watches: its path's first segment, settings resolved."""
        return resolve(function.trigger["path"], self.settings).split("/", 1)[0]

    def invoke(
        self, function: IndexedFunction, trigger: object, trigger_metadata: Mapping[str, object] | None = None
    ) -> object:
        request = protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()),
            function_id=function.function_id,
            input_data=[protos.ParameterBinding(name=function.trigger["name"], data=trigger)],
            trigger_metadata=trigger_metadata or {},
        )
        return self.channel.call("invocation_request", request, self.timeout)


@dataclass(frozen=True)
class HttpRequestData:
    """An HTTP request as the host hands it on: headers and query as single strings each."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes


def _body_bytes(body: object) -> bytes:
    kind = body.WhichOneof("data")
    if kind is None:
        return b""
    value = getattr(body, kind)
    return value if isinstance(value, bytes) else str(value).encode()


def _iso(moment: datetime | None) -> str:
    return (moment or datetime.min.replace(tzinfo=UTC)).isoformat()
