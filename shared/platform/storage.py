"""Blob and queue storage I/O on clients built per invocation and closed after it, with their credential.

No module-level client and no cached credential: a cached credential is one of the leaks this project
replaces. Identity-based in Azure and against the local Azurite; a connection string is an opt-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

from shared.errors import (
    ConfigurationError,
    StorageAccessDeniedError,
    StorageError,
    StorageRefusedError,
    TranscriptionError,
)
from shared.settings import COMPLETION_QUEUE, INPUT_CONTAINER, OUTPUT_CONTAINER, STORAGE_CONNECTION, Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

#: 4xx answers a later try may not get (a timeout, a lease or ETag someone else moved, throttling); every
#: other 4xx refuses the request itself.
_TRANSIENT_4XX = frozenset({408, 409, 412, 429})


class StorageClients:
    """This invocation's clients for blobs and queues, on one credential (one token), closed together.

    Each operation is bounded (``shared.platform.deadlines``), so an outage is reported in seconds, not after
    minutes of the SDK's own retries. Queue messages are base64, as a Functions queue trigger expects.
    """

    def __init__(self, settings: Settings) -> None:
        storage = settings.storage
        if storage is None:
            raise ConfigurationError(
                f"app setting {STORAGE_CONNECTION}__blobServiceUri (or, opt-in, {STORAGE_CONNECTION}) is missing"
            )
        self._settings = storage
        self._timeout = settings.storage_timeout_seconds
        self._credential = None
        self._closing: list = []
        try:
            with _malformed_setting():
                if storage.connection_string:
                    self.blobs = BlobServiceClient.from_connection_string(storage.connection_string, **self._bounded())
                else:
                    from shared.platform.credentials import new_credential

                    self._credential = new_credential(settings, storage.client_id)
                    self.blobs = BlobServiceClient(
                        storage.blob_service_uri, credential=self._credential, **self._bounded()
                    )
        except ConfigurationError:
            self.close()  # the credential made for a client that could not be
            raise
        self._closing.append(self.blobs)

    def queue(self, name: str) -> QueueClient:
        """A client for queue ``name`` on the same connection (``ConfigurationError`` without a queue URI)."""
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

        codec = {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": TextBase64DecodePolicy(),
            **self._bounded(),
        }
        if not (self._settings.connection_string or self._settings.queue_service_uri):
            raise ConfigurationError(f"app setting {STORAGE_CONNECTION}__queueServiceUri is missing")
        with _malformed_setting():
            if self._settings.connection_string:
                client = QueueClient.from_connection_string(self._settings.connection_string, name, **codec)
            else:
                client = QueueClient(self._settings.queue_service_uri, name, credential=self._credential, **codec)
        self._closing.append(client)
        return client

    def _bounded(self) -> dict:
        """Each operation of a client, its retries included, ends within ``STORAGE_TIMEOUT_SECONDS``."""
        from shared.platform.deadlines import storage_pipeline_options

        return storage_pipeline_options(self._timeout)

    def close(self) -> None:
        for client in reversed(self._closing):
            client.close()
        self._closing.clear()
        if self._credential is not None:
            self._credential.close()
            self._credential = None


@contextmanager
def _malformed_setting() -> Iterator[None]:
    """The SDK's bare ``ValueError`` for a connection string or URI as a ``ConfigurationError`` naming the
    setting, never the value (it can hold an account key)."""
    try:
        yield
    except ValueError as exc:
        raise ConfigurationError(
            f"app setting {STORAGE_CONNECTION} (or its __blobServiceUri / __queueServiceUri) is malformed",
            details=str(exc),
        ) from None


@contextmanager
def connect(settings: Settings) -> Iterator[StorageClients]:
    """Storage clients for this invocation; they and their credential are closed on exit."""
    clients = StorageClients(settings)
    try:
        yield clients
    finally:
        clients.close()


@contextmanager
def blob_service(settings: Settings) -> Iterator[BlobServiceClient]:
    """A ``BlobServiceClient`` for this invocation; it and its credential are closed on exit."""
    with connect(settings) as clients:
        yield clients.blobs


def upload_url(service: BlobServiceClient, container: str, name: str, *, minutes: float = 15) -> tuple[str, datetime]:
    """An HTTPS URL that lets its holder create blob ``name`` and nothing else, and when it expires.

    A user-delegation SAS, signed with a key storage issues to this app's identity: no account key anywhere.
    """
    from urllib.parse import quote

    now = datetime.now(UTC).replace(microsecond=0)
    expiry = now + timedelta(minutes=minutes)
    try:
        # Start a little in the past: the client's clock may run ahead of storage's.
        key = service.get_user_delegation_key(now - timedelta(minutes=5), expiry)
    except AzureError as exc:
        raise storage_error("getting a user delegation key", exc) from None
    sas = generate_blob_sas(
        account_name=service.account_name,
        container_name=container,
        blob_name=name,
        user_delegation_key=key,
        permission=BlobSasPermissions(create=True, write=True),
        expiry=expiry,
        start=now - timedelta(minutes=5),
        protocol="https",
    )
    return f"{service.url.rstrip('/')}/{container}/{quote(name)}?{sas}", expiry


def missing_resources(clients: StorageClients, settings: Settings) -> list[str]:
    """The containers and queue the settings name that do not exist, one sentence each."""

    def container(name: str) -> Callable[[], object]:
        return clients.blobs.get_container_client(name).get_container_properties

    checks = [
        (INPUT_CONTAINER, settings.input_container, container(settings.input_container)),
        (OUTPUT_CONTAINER, settings.output_container, container(settings.output_container)),
    ]
    if settings.completion_queue:
        checks.append(
            (COMPLETION_QUEUE, settings.completion_queue, clients.queue(settings.completion_queue).get_queue_properties)
        )
    missing = []
    for setting, name, probe in checks:
        try:
            probe()
        except ResourceNotFoundError:
            missing.append(f"{setting} names {name!r}, which does not exist")
        except AzureError as exc:
            raise storage_error(f"checking {setting} {name!r}", exc) from None
    return missing


def storage_error(action: str, exc: Exception) -> TranscriptionError:
    """The typed error for a failed storage call, by the answer's status (``shared.errors`` says which is
    transient). The exception's own text (hosts, URLs) goes into ``details``, for the logs only."""
    status = getattr(exc, "status_code", None)
    code = _error_code(exc)
    details = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    answered = f"HTTP {status}{f' {code}' if code else ''}" if status else type(exc).__name__
    if code == "ContainerNotFound":
        return ConfigurationError(
            f"{action}: the container does not exist; check {INPUT_CONTAINER} and {OUTPUT_CONTAINER}", details=details
        )
    if code == "QueueNotFound":
        return ConfigurationError(f"{action}: the queue does not exist; check {COMPLETION_QUEUE}", details=details)
    if status in (401, 403):
        return StorageAccessDeniedError(f"{action}: storage refused this app's identity ({answered})", details=details)
    if status is not None and 400 <= status < 500 and status not in _TRANSIENT_4XX:
        return StorageRefusedError(f"{action}: storage refused the request ({answered})", details=details)
    return StorageError(f"{action} failed: {answered}", details=details)


def _error_code(exc: Exception) -> str:
    """Storage's error code of a failed call (``ContainerNotFound``, ...), or ``""``; an Enum's value."""
    raw = getattr(exc, "error_code", None)
    return str(getattr(raw, "value", raw) or "")


def container_missing(exc: Exception) -> bool:
    """Whether a not-found answer is about the container, not the blob: a setting naming the wrong one."""
    return _error_code(exc) == "ContainerNotFound"


def read_json(container: ContainerClient, name: str) -> dict | None:
    """The JSON document at ``name``, or ``None`` when there is none."""

    try:
        return json.loads(container.download_blob(name).readall())
    except ResourceNotFoundError as exc:
        if container_missing(exc):
            raise storage_error(f"reading {name}", exc) from None
        return None
    except ValueError:
        return None  # not JSON (hand-edited, half-written): treat as absent
    except AzureError as exc:
        raise storage_error(f"reading {name}", exc) from None


def read_text(container: ContainerClient, name: str) -> str:
    """A text blob written by ``write_text`` (``StorageError`` when it is gone or unreadable)."""

    try:
        return container.download_blob(name, max_concurrency=1).readall().decode("utf-8")
    except AzureError as exc:
        raise storage_error(f"reading {name}", exc) from None


def write_text(
    container: ContainerClient, name: str, text: str, content_type: str, metadata: dict[str, str] | None = None
) -> None:
    """Write (or replace) a small UTF-8 text blob; ``metadata`` lets a listing see it without reading it."""

    try:
        container.upload_blob(
            name,
            text.encode("utf-8"),
            overwrite=True,
            metadata=metadata,
            content_settings=ContentSettings(content_type=f"{content_type}; charset=utf-8"),
        )
    except AzureError as exc:
        raise storage_error(f"writing {name}", exc) from None


def delete_if_exists(container: ContainerClient, name: str, **options: object) -> None:
    """Delete blob ``name`` (``options`` go to ``delete_blob``); one already gone is no failure. Raises
    ``storage_error``'s typed error for any other."""

    try:
        with suppress(ResourceNotFoundError):
            container.delete_blob(name, **options)
    except AzureError as exc:
        raise storage_error(f"deleting {name}", exc) from None
