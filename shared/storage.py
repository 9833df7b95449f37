"""Blob storage I/O through the same connection settings the blob trigger uses.

Clients are built per invocation and closed after it, with their credential: no module-level client,
no cached credential (a cached credential is one of the leaks this project replaces). In Azure the
connection is identity-based (``AudioStorage__blobServiceUri`` + managed identity); locally a
connection string for Azurite is accepted in ``AudioStorage``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError, StorageAccessDeniedError, StorageError
from shared.settings import STORAGE_CONNECTION, Settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, ContainerClient


@contextmanager
def blob_service(settings: Settings) -> Iterator[BlobServiceClient]:
    """A ``BlobServiceClient`` for this invocation; it and its credential are closed on exit."""
    from azure.storage.blob import BlobServiceClient

    storage = settings.storage
    if storage is None:
        raise ConfigurationError(
            f"app setting {STORAGE_CONNECTION}__blobServiceUri (or, locally, {STORAGE_CONNECTION}) is missing"
        )
    credential = None
    if storage.connection_string:
        client = BlobServiceClient.from_connection_string(storage.connection_string)
    else:
        from shared.token import new_credential

        credential = new_credential(settings, storage.client_id)
        client = BlobServiceClient(storage.blob_service_uri, credential=credential)
    try:
        with client:
            yield client
    finally:
        if credential is not None:
            credential.close()


def storage_error(action: str, exc: Exception) -> StorageError:
    """The typed error for a failed storage call: refusals of our identity get their own code."""
    status = getattr(exc, "status_code", None)
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if status in (401, 403):
        return StorageAccessDeniedError(f"{action}: storage refused this app's identity (HTTP {status}): {reason}")
    return StorageError(f"{action} failed: {type(exc).__name__}: {reason}")


def read_json(container: ContainerClient, name: str) -> dict | None:
    """The JSON document at ``name``, or ``None`` when there is none."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        return json.loads(container.download_blob(name).readall())
    except ResourceNotFoundError:
        return None
    except ValueError:
        return None  # not JSON (hand-edited, half-written): treat as absent
    except AzureError as exc:
        raise storage_error(f"reading {name}", exc) from None


def write_text(container: ContainerClient, name: str, text: str, content_type: str) -> None:
    """Write (or replace) a small text blob with a content type browsers and tools understand."""
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContentSettings

    try:
        container.upload_blob(
            name, text.encode("utf-8"), overwrite=True,
            content_settings=ContentSettings(content_type=f"{content_type}; charset=utf-8"),
        )
    except AzureError as exc:
        raise storage_error(f"writing {name}", exc) from None


def delete_if_exists(container: ContainerClient, name: str) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    with suppress(ResourceNotFoundError):
        container.delete_blob(name)
