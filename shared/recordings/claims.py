"""One worker per recording at a time: a blob lease on ``<output>/<name>.lock``.

Event Grid may deliver an event twice, and the sweep may reach a recording whose event is still queued. A
lease, not a flag: storage ends it ``LEASE_SECONDS`` after a dead worker last renewed it, so a crash never
leaves a recording locked. The holder renews it from a thread and deletes the lock when done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError

from shared.platform import storage

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
#: How long a lease lasts without renewal (storage allows 15-60 s or infinite; infinite would outlive a crash).
LEASE_SECONDS = 60
#: How often the holder renews it: a third of its life, so two renewals can fail before it lapses.
RENEW_SECONDS = LEASE_SECONDS / 3


@contextmanager
def claim(out: ContainerClient, name: str) -> Iterator[bool]:
    """``with claim(out, name) as mine:``: ``mine`` is True when this worker holds the recording, renewed
    until the block ends."""
    lock = out.get_blob_client(f"{name}{LOCK_SUFFIX}")
    lease = _acquire(lock)
    if lease is None:
        yield False
        return
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lease, stop, name), name="claim-renew", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        _release(lock, lease)


def _acquire(lock: BlobClient) -> BlobLeaseClient | None:
    """The lease on the lock blob (made if missing), or ``None`` when another worker holds it."""
    for _ in range(3):  # the lock can be deleted by its last holder between our two calls
        try:
            with suppress(ResourceExistsError):
                lock.upload_blob(b"", overwrite=False)
            return lock.acquire_lease(lease_duration=LEASE_SECONDS)
        except ResourceNotFoundError:
            continue
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):  # LeaseAlreadyPresent; or leased, so not writable: taken
                return None
            raise storage.storage_error(f"claiming {lock.blob_name}", exc) from None
        except AzureError as exc:
            raise storage.storage_error(f"claiming {lock.blob_name}", exc) from None
    return None


def _renew(lease: BlobLeaseClient, stop: threading.Event, name: str) -> None:
    while not stop.wait(RENEW_SECONDS):
        try:
            lease.renew()
        except AzureError as exc:  # the work goes on; at worst another worker may take the recording over
            log.warning("%s: could not renew the claim: %s", name, exc)


def _release(lock: BlobClient, lease: BlobLeaseClient) -> None:
    try:
        lock.delete_blob(lease=lease)
    except AzureError as exc:  # the lease lapses by itself within LEASE_SECONDS
        log.warning("%s: could not release the claim: %s", lock.blob_name, exc)
