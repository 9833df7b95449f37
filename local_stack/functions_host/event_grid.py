"""A stand-in for the Event Grid subscription that ``scripts/post-deploy.sh`` creates: every blob created or
replaced in the input container becomes a ``Microsoft.Storage.BlobCreated`` event, posted to the blobs
extension's webhook.

Like the real subscription it first completes the validation handshake, and blobs already there when it
starts get no event. It finds changes by listing the container (ETags), twice a second.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
#: The header Event Grid sets on every delivery: ``SubscriptionValidation`` or ``Notification``.
EVENT_TYPE_HEADER = "aeg-event-type"
_SUBJECT = "/blobServices/default/containers/{container}/blobs/{name}"


def blob_created(container: str, name: str, etag: str, url: str, size: int) -> dict:
    """One event in the Event Grid schema, as Blob Storage publishes it."""
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/local",
        "subject": _SUBJECT.format(container=container, name=name),
        "eventType": BLOB_CREATED,
        "eventTime": datetime.now(UTC).isoformat(),
        "data": {"api": "PutBlob", "eTag": etag, "contentLength": size, "blobType": "BlockBlob", "url": url},
        "dataVersion": "",
        "metadataVersion": "1",
    }


def created_blobs(events: list[dict]) -> list[tuple[str, str, str]]:
    """``(container, blob name, ETag)`` of each BlobCreated event (the names from its subject)."""
    found = []
    for event in events:
        if event.get("eventType") != BLOB_CREATED:
            continue
        container, name = event["subject"].split("/containers/", 1)[1].split("/blobs/", 1)
        found.append((container, name, event.get("data", {}).get("eTag", "")))
    return found


class BlobEventSource:
    """Posts a BlobCreated event to ``webhook_url`` for each new or replaced blob that ``list_blobs`` shows."""

    def __init__(
        self,
        list_blobs: Callable[[], Iterable[tuple[str, str, str, int]]],
        container: str,
        webhook_url: str,
        interval: float = 0.5,
    ) -> None:
        self.list_blobs, self.container, self.webhook_url, self.interval = list_blobs, container, webhook_url, interval
        self._seen: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="event-grid", daemon=True)

    def start(self) -> None:
        code = str(uuid.uuid4())
        answer = self._post(
            [
                {
                    "id": str(uuid.uuid4()),
                    "eventType": VALIDATION,
                    "data": {"validationCode": code},
                    "subject": "",
                    "eventTime": datetime.now(UTC).isoformat(),
                }
            ],
            "SubscriptionValidation",
        )
        if answer.get("validationResponse") != code:
            raise RuntimeError(f"the webhook at {self.webhook_url} did not validate the subscription: {answer}")
        self._seen = {name: etag for name, etag, _, _ in self.list_blobs()}  # no events for what was there
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for name, etag, url, size in self.list_blobs():
                    if self._seen.get(name) != etag:
                        self._post([blob_created(self.container, name, etag, url, size)], "Notification")
                        self._seen[name] = etag
            except Exception:  # noqa: BLE001 - storage or the host hiccuped: Event Grid retries, so does this
                log.exception("event grid stand-in: listing or delivery failed; trying again")

    def _post(self, events: list[dict], kind: str) -> dict:
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(events).encode(),
            method="POST",
            headers={"Content-Type": "application/json", EVENT_TYPE_HEADER: kind},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else {}
