"""Status documents in blob storage, moved forward by ETag-conditional writes (no database).

Every transition is a pure ``change(job) -> Job | None`` applied by ``update``, which reads again and decides
again on a lost race: two deliveries, or a request racing the blob door, never move a job backwards. The
caller builds the clients (``shared.platform.storage``); storage failures are the transient ``StorageError``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContentSettings

from shared.errors import JobNotFoundError, JobStateError, StorageError
from shared.jobs.model import QUEUED, RUNNING, Job, iso, utc_now
from shared.jobs.names import audio_blob_name, new_job_id, parse_job_id, status_blob_name
from shared.platform.storage import container_missing, storage_error

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

#: Conditional writes lost in a row before giving up (each loss means another writer moved on).
MAX_WRITE_RACES = 10


@dataclass(frozen=True)
class JobStore:
    """The clients one invocation uses for jobs, built and closed by the caller; ``completions`` is ``None``
    when no completion queue is set."""

    audio: ContainerClient  # the input container
    results: ContainerClient  # the output container
    completions: QueueClient | None = None


def store_for(clients, settings) -> JobStore:
    """The job store on one invocation's ``shared.platform.storage.StorageClients`` (queue only when one is set)."""
    return JobStore(
        audio=clients.blobs.get_container_client(settings.input_container),
        results=clients.blobs.get_container_client(settings.output_container),
        completions=clients.queue(settings.completion_queue) if settings.completion_queue else None,
    )


# -- transitions that start and move a job --------------------------------------------------------------
def create_job(
    store: JobStore, extension: str, *, options: dict[str, object] | None = None, now: datetime | None = None
) -> Job:
    """A new ``queued`` job for audio ``jobs/<id>.<extension>``, keeping its ``options``; the audio is not
    written. Call it before the audio lands (or an upload URL is handed out): the trigger must find the job."""
    now = now or utc_now()
    for _ in range(3):  # an id collision needs 80 equal random bits in the same millisecond
        job_id = new_job_id(now)
        stamp = iso(now)
        job = Job(
            id=job_id,
            status=QUEUED,
            created_at=stamp,
            updated_at=stamp,
            seconds_done=0.0,
            options=options,
            audio={"container": store.audio.container_name, "name": audio_blob_name(job_id, extension)},
        )
        try:
            return write(store, job, create=True)
        except ResourceExistsError:
            continue
    raise StorageError("could not find an unused job id")


def get_job(store: JobStore, job_id: str) -> Job:
    """The job's current status document (``JobNotFoundError`` when there is none)."""
    return read(store, parse_job_id(job_id))


def start_job(store: JobStore, job_id: str, *, seconds_total: float | None = None, now: datetime | None = None) -> Job:
    """Mark the job ``running`` (``attempts`` counts the tries) and return it as stored; a finished job comes
    back unchanged (check ``job.terminal``)."""

    def change(job: Job) -> Job | None:
        if job.terminal:
            return None
        stamp = iso(now or utc_now())
        total = seconds_total if seconds_total is not None else job.seconds_total
        return replace(
            job,
            status=RUNNING,
            started_at=job.started_at or stamp,
            updated_at=stamp,
            seconds_done=0.0,
            seconds_total=total,
            attempts=job.attempts + 1,
        )

    return update(store, parse_job_id(job_id), change)[0]


def report_progress(
    store: JobStore,
    job_id: str,
    seconds_done: float,
    seconds_total: float | None = None,
    *,
    now: datetime | None = None,
) -> Job:
    """Record audio seconds done (and the total, once known) on a ``running`` job, never backwards. Each call
    is a storage write: call it every few seconds, not per phrase."""

    def change(job: Job) -> Job | None:
        if job.status != RUNNING:
            return None
        return replace(
            job,
            seconds_done=max(float(seconds_done), job.seconds_done or 0.0),
            seconds_total=seconds_total if seconds_total is not None else job.seconds_total,
            updated_at=iso(now or utc_now()),
        )

    return update(store, parse_job_id(job_id), change)[0]


def record_engine(store: JobStore, job_id: str, engine: str, *, now: datetime | None = None) -> Job:
    """Say which engine a ``running`` job is on (a batch job waits for the service, so the status shows it)."""

    def change(job: Job) -> Job | None:
        if job.status != RUNNING or job.engine == engine:
            return None
        return replace(job, engine=engine, updated_at=iso(now or utc_now()))

    return update(store, parse_job_id(job_id), change)[0]


# -- the document in storage -------------------------------------------------------------------------------
def read(store: JobStore, job_id: str) -> Job:
    """The status document with the ETag it was read with (``JobNotFoundError``, ``JobStateError``)."""
    name = status_blob_name(job_id)
    try:
        download = store.results.download_blob(name)
        data = download.readall()
    except ResourceNotFoundError as exc:
        if container_missing(exc):  # a setting names the wrong container
            raise storage_error(f"reading {name}", exc) from None
        raise JobNotFoundError(f"no transcription job {job_id!r}") from None
    except AzureError as exc:
        raise storage_error(f"reading {name}", exc) from None
    try:
        body = json.loads(data)
    except ValueError:
        raise JobStateError(f"{name} is not JSON") from None
    if not isinstance(body, dict) or body.get("id") != job_id:
        raise JobStateError(f"{name} does not describe job {job_id}")
    return Job.from_dict(body, etag=download.properties.etag)


def write(store: JobStore, job: Job, *, create: bool = False) -> Job:
    """Write the document (``create``: only if absent; else only over its ETag), its status and times in the
    metadata for listings. Raises ``ResourceExistsError`` / ``ResourceModifiedError`` on a lost race."""
    name = status_blob_name(job.id)
    metadata = {"status": job.status, "created_at": job.created_at}
    if job.finished_at:
        metadata["finished_at"] = job.finished_at
    if job.completion:  # the sweep finds unsent completion messages from the listing
        metadata["completion"] = str(job.completion.get("state", ""))
    condition = {} if create else {"etag": job.etag, "match_condition": MatchConditions.IfNotModified}
    try:
        written = store.results.get_blob_client(name).upload_blob(
            json.dumps(job.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"),
            overwrite=not create,
            metadata=metadata,
            content_settings=ContentSettings(content_type="application/json; charset=utf-8"),
            **condition,
        )
    except (ResourceExistsError, ResourceModifiedError):
        raise
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 412:
            raise ResourceModifiedError(message=str(exc)) from None
        raise storage_error(f"writing {name}", exc) from None
    return replace(job, etag=written["etag"])


def update(store: JobStore, job_id: str, change: Callable[[Job], Job | None]) -> tuple[Job, bool]:
    """Read, ``change``, write over the same ETag, again on a lost race; the job and whether it changed
    (``change`` returns ``None`` for nothing to do)."""
    for attempt in range(MAX_WRITE_RACES):
        job = read(store, job_id)
        changed = change(job)
        if changed is None:
            return job, False
        try:
            return write(store, replace(changed, etag=job.etag)), True
        except ResourceModifiedError:
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # spread out writers that keep colliding
        except ResourceNotFoundError:
            raise JobNotFoundError(f"no transcription job {job_id!r}") from None
    raise StorageError(f"job {job_id}: its status kept changing under {MAX_WRITE_RACES} tries")
