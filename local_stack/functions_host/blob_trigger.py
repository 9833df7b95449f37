"""The blob trigger's host side: the blobs extension's webhook takes Event Grid's ``BlobCreated`` events, and
``Deliveries`` runs them with ``host.json``'s ``maxDegreeOfParallelism`` and ``poisonBlobThreshold``. A poisoned
event becomes a message on the host storage's ``webjobs-blobtrigger-poison`` queue, as the host writes it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from local_stack.functions_host.deliveries import Deliveries
from local_stack.functions_host.event_grid import EVENT_TYPE_HEADER, BlobEventSource, created_blobs
from local_stack.functions_host.invocations import Invoker

POISON_QUEUE = "webjobs-blobtrigger-poison"
#: The function a webhook call is for: ``functionName=Host.Functions.<name>``.
FUNCTION_PREFIX = "Host.Functions."
log = logging.getLogger("functions_host")


@dataclass(frozen=True)
class BlobEvent:
    function: str
    container: str
    name: str
    etag: str


class BlobTrigger:
    """The webhook, the Event Grid stand-in per blob function, and the delivery queue behind them."""

    webhook_path = "/runtime/webhooks/blobs"

    def __init__(self, stack: object, invoker: Invoker, settings: Mapping[str, str], host_json: Mapping) -> None:
        self.stack, self.invoker = stack, invoker
        self.functions = {f.name: f for f in invoker.of_type("blobTrigger")}
        self.containers = {name: invoker.blob_container(f) for name, f in self.functions.items()}
        blobs = host_json["extensions"]["blobs"]
        self.deliveries = Deliveries(
            self._deliver,
            parallel=int(blobs["maxDegreeOfParallelism"]),
            threshold=int(blobs["poisonBlobThreshold"]),
            on_poison=self._poison,
        )
        self._exit = ExitStack()
        self._sources: list[BlobEventSource] = []

    def start(self, webhook_url: str) -> None:
        self._service = self._exit.enter_context(self.stack.blob_service())
        for name, container in self.containers.items():
            source = BlobEventSource(
                lambda c=container: self._listing(c), container, f"{webhook_url}?functionName={FUNCTION_PREFIX}{name}"
            )
            source.start()
            self._sources.append(source)

    def stop(self) -> None:
        for source in self._sources:
            source.stop()
        self.deliveries.close(drop_pending=True)
        self._exit.close()

    def wait_for(self, names: list[str], timeout: float) -> set[str]:
        """Wait until each blob in ``names`` has had its event delivered and nothing is left running or queued;
        the names that had one by then."""
        deadline = time.monotonic() + timeout
        wanted = set(names)
        while not wanted <= self.delivered_names() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.deliveries.wait_idle(max(0.0, deadline - time.monotonic()))
        return wanted & self.delivered_names()

    def delivered_names(self) -> set[str]:
        return {event.name for event in list(self.deliveries.delivered.deliveries)}

    def webhook(self, query: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """What the blobs extension answers Event Grid: the validation handshake, or 202 for events taken."""
        try:
            events = json.loads(body)
        except ValueError:
            return 400, b""
        kind = {k.lower(): v for k, v in headers.items()}.get(EVENT_TYPE_HEADER, "")
        if kind == "SubscriptionValidation":
            return 200, json.dumps({"validationResponse": events[0]["data"]["validationCode"]}).encode()
        function = parse_qs(query).get("functionName", [""])[0].removeprefix(FUNCTION_PREFIX)
        if kind != "Notification" or function not in self.functions:
            return 400, b""
        for container, name, etag in created_blobs(events):
            if container == self.containers[function]:
                self.deliveries.put(BlobEvent(function, container, name, etag))
        return 202, b""

    def _deliver(self, event: BlobEvent) -> None:
        url = f"{self.stack.storage.blob}/{event.container}/{quote(event.name)}"
        self.invoker.blob(self.functions[event.function], event.container, event.name, url)

    def _poison(self, event: BlobEvent) -> None:
        log.warning(
            "%s/%s: message has reached MaxDequeueCount of %d; moved to %s",
            event.container,
            event.name,
            self.deliveries.threshold,
            POISON_QUEUE,
        )
        message = {
            "FunctionId": f"{FUNCTION_PREFIX}{event.function}",
            "BlobType": "BlockBlob",
            "ContainerName": event.container,
            "BlobName": event.name,
            "ETag": event.etag,
        }
        with self.stack.queue_service() as queues:
            from azure.core.exceptions import ResourceExistsError

            with suppress(ResourceExistsError):
                queues.create_queue(POISON_QUEUE)
            queues.get_queue_client(POISON_QUEUE).send_message(json.dumps(message))

    def _listing(self, container: str) -> Iterator[tuple[str, str, str, int]]:
        base = self.stack.storage.blob
        for blob in self._service.get_container_client(container).list_blobs():
            yield blob.name, blob.etag, f"{base}/{container}/{quote(blob.name)}", blob.size
