"""Transcription jobs: ids, blob names, and a status document per job in blob storage (no database).

Layout (all names are built from a validated id, never from raw input):

- ``<input>/jobs/<id>.<ext>``: the audio. Its BlobCreated event starts the blob pipeline, which
  writes the results under their usual names beside it: ``<output>/jobs/<id>.<ext>.json`` etc.
- ``<output>/jobs/<id>/status.json``: the job's state. In the *output* container because a write
  into the input container would fire the blob trigger; beside the results so everything a job
  produced sits under one prefix, ``jobs/<id>``, and one listing finds it all for ``delete_job``.
  The ``/status.json`` name can never be a result name: results are ``<audio name>.<ext>`` and a job
  audio name has no ``/`` after the id.

Ids: 26 characters of lowercase Crockford base32 (``0-9a-z`` without ``i l o u``): 10 characters of
*inverted* milliseconds since the epoch, ``2**48 - 1 - ms``, then 16 random characters (80 bits from
``secrets``). Blob listings come in ascending name order only, so inverting the time makes storage's
own order newest first: the newest jobs are the first names a listing returns, and a page of recent
jobs costs one list request however many jobs exist (with a plain ULID the newest come last, and
"newest first" means listing everything). Ids from different instances sort by their clocks; ties
within a millisecond are in random order. ``parse_job_id`` accepts exactly this form, nothing else.

Transitions are conditional writes on the status blob's ETag (read, change, write ``If-Match``; on a
lost race read again and decide again), so the state only ever moves forward::

    queued ──► running ──► succeeded
       │          │ ▲ progress, retries
       └──────────┴─┴──► failed

(``finish_job`` also takes a job straight from ``queued``: audio refused before any work started.)
``succeeded`` and ``failed`` are terminal: a redelivered event can start, report progress or finish
a finished job as often as it likes, nothing changes. The write that makes a job terminal is won by
exactly one caller, and that caller sends the completion message, so two deliveries of one event
give one message. The status document also records the message (``completion``): ``claimed`` while
it is being sent, ``sent`` after. A send that failed is released for the next delivery to claim;
a claim older than ``COMPLETION_CLAIM_SECONDS`` (its sender died) may be taken over.

Nothing here creates a client or a credential: every function takes a ``JobStore`` holding clients
built per invocation by the caller (``shared.storage``). Storage failures surface as the typed
``StorageError`` (transient: the host retries).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.errors import (
    InvalidJobQueryError,
    JobNotFoundError,
    JobStateError,
    StorageError,
    TranscriptionError,
)
from shared.storage import storage_error

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from azure.storage.queue import QueueClient

SCHEMA = "stt-job/1"
COMPLETION_SCHEMA = "stt-job-completion/1"
#: The folder of job blobs, in the input and in the output container.
JOBS_PREFIX = "jobs/"

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
TERMINAL = frozenset({SUCCEEDED, FAILED})

#: Conditional writes lost in a row before giving up (each loss means another writer moved on).
MAX_WRITE_RACES = 10
#: A completion claim older than this is taken to belong to a sender that died.
COMPLETION_CLAIM_SECONDS = 300
#: Jobs per page of ``list_jobs``.
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS, _RANDOM_CHARS = 10, 16
_MAX_MS = (1 << 48) - 1
_ID = re.compile(r"[0-7][0-9a-hjkmnp-tv-z]{25}")  # 10 chars hold 50 bits; the time uses 48: first char ≤ 7
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")
_AUDIO_NAME = re.compile(r"jobs/([0-7][0-9a-hjkmnp-tv-z]{25})\.([a-z0-9]{1,10})")
_STATUS_NAME = re.compile(r"jobs/([0-7][0-9a-hjkmnp-tv-z]{25})/status\.json")


# -- ids and names ------------------------------------------------------------------------------------
def new_job_id(now: datetime | None = None) -> str:
    """A fresh id: inverted-time prefix (newest sorts first) + 80 random bits."""
    ms = int((now or _now()).timestamp() * 1000)
    return _base32(_MAX_MS - ms, _TIME_CHARS) + _base32(secrets.randbits(5 * _RANDOM_CHARS), _RANDOM_CHARS)


def parse_job_id(value: object) -> str:
    """``value`` if it is a well-formed job id (exact form, lowercase); ``JobNotFoundError`` otherwise.

    Call it on every id from outside before building any blob name from it.
    """
    if isinstance(value, str) and len(value) == _TIME_CHARS + _RANDOM_CHARS and _ID.fullmatch(value):
        return value
    shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
    raise JobNotFoundError(f"no transcription job {shown}")


def job_created_at(job_id: str) -> datetime:
    """When the id was made (from its time prefix, to the millisecond)."""
    value = 0
    for char in parse_job_id(job_id)[:_TIME_CHARS]:
        value = value * 32 + _ALPHABET.index(char)
    return datetime.fromtimestamp((_MAX_MS - value) / 1000, UTC)


def audio_blob_name(job_id: str, extension: str) -> str:
    """``jobs/<id>.<ext>`` in the input container; ``extension`` is 1-10 of ``[a-z0-9]`` (``ValueError``)."""
    if not isinstance(extension, str) or not _EXTENSION.fullmatch(extension):
        raise ValueError(f"not a file extension for job audio: {str(extension)[:20]!r}")
    return f"{JOBS_PREFIX}{parse_job_id(job_id)}.{extension}"


def job_id_from_blob_name(name: str) -> str | None:
    """The job id of an input blob named exactly ``jobs/<id>.<ext>``; ``None`` for any other name."""
    match = _AUDIO_NAME.fullmatch(name) if isinstance(name, str) else None
    return match.group(1) if match else None


def status_blob_name(job_id: str) -> str:
    """``jobs/<id>/status.json`` in the output container."""
    return f"{JOBS_PREFIX}{parse_job_id(job_id)}/status.json"


# -- the store and the document -----------------------------------------------------------------------
@dataclass(frozen=True)
class JobStore:
    """The clients one invocation uses for jobs; built and closed by the caller.

    ``completions`` is the queue named by the completion setting, or ``None`` when none is set (then
    no message is sent). Build it with ``message_encode_policy=TextBase64EncodePolicy()`` if Functions
    queue triggers consume it: they expect base64 by default.
    """

    audio: ContainerClient  # the input container
    results: ContainerClient  # the output container
    completions: QueueClient | None = None


def store_for(clients, settings) -> JobStore:
    """The job store on one invocation's ``shared.storage.StorageClients`` (queue only when one is set)."""
    return JobStore(
        audio=clients.blobs.get_container_client(settings.input_container),
        results=clients.blobs.get_container_client(settings.output_container),
        completions=clients.queue(settings.completion_queue) if settings.completion_queue else None,
    )


@dataclass(frozen=True)
class Job:
    """One job's status document (``schema: stt-job/1``), plus the ETag it was read with."""

    id: str
    status: str
    audio: dict[str, str]  # {"container", "name"}
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None
    seconds_done: float | None = None
    seconds_total: float | None = None
    error: dict[str, str] | None = None  # {"code", "message"}
    results: dict[str, str] = field(default_factory=dict)  # format → blob name in the output container
    attempts: int = 0
    completion: dict[str, object] | None = None  # {"state": "claimed"|"unsent"|"sent", "at", "claim"}
    etag: str | None = field(default=None, compare=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA, "id": self.id, "status": self.status, "audio": self.audio,
            "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
            "updated_at": self.updated_at,
            "progress": {"seconds_done": self.seconds_done, "seconds_total": self.seconds_total},
            "error": self.error, "results": self.results, "attempts": self.attempts, "completion": self.completion,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, object], etag: str | None = None) -> Job:
        try:
            progress = body.get("progress") or {}
            job = cls(
                id=parse_job_id(body["id"]), status=str(body["status"]), audio=dict(body["audio"]),
                created_at=str(body["created_at"]), started_at=body.get("started_at"),
                finished_at=body.get("finished_at"), updated_at=body.get("updated_at"),
                seconds_done=progress.get("seconds_done"), seconds_total=progress.get("seconds_total"),
                error=body.get("error"), results=dict(body.get("results") or {}),
                attempts=int(body.get("attempts") or 0), completion=body.get("completion"), etag=etag,
            )
        except (KeyError, TypeError, ValueError, AttributeError, JobNotFoundError) as exc:
            raise JobStateError(f"job status document is not valid: {type(exc).__name__}: {exc}") from None
        if job.status not in STATUSES:
            raise JobStateError(f"job {job.id} has an unknown status {job.status!r}")
        return job


def job_links(job: Job, *, api_base: str = "/api") -> dict[str, object]:
    """The job's URLs in the HTTP API: itself, and its transcript per format once it has one."""
    own = f"{api_base.rstrip('/')}/transcriptions/{job.id}"
    links: dict[str, object] = {"self": own}
    if job.results:
        links["transcript"] = {fmt: f"{own}/transcript?format={fmt}" for fmt in job.results}
    return links


def public_view(job: Job, *, api_base: str = "/api") -> dict[str, object]:
    """What ``GET /api/transcriptions/<id>`` answers: no blob names, no bookkeeping."""
    return {
        "id": job.id, "status": job.status, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
        "progress": {"seconds_done": job.seconds_done, "seconds_total": job.seconds_total},
        "error": job.error, "links": job_links(job, api_base=api_base),
    }


def completion_message(job: Job, results_container: str, *, api_base: str = "/api") -> dict[str, object]:
    """The body of the completion message: id, status, links, and where the results are stored."""
    body: dict[str, object] = {
        "schema": COMPLETION_SCHEMA, "id": job.id, "status": job.status, "finished_at": job.finished_at,
        "links": job_links(job, api_base=api_base),
        "results": {fmt: {"container": results_container, "name": name} for fmt, name in job.results.items()},
    }
    if job.error:
        body["error"] = job.error
    return body


# -- transitions --------------------------------------------------------------------------------------
def create_job(store: JobStore, extension: str, *, now: datetime | None = None) -> Job:
    """A new ``queued`` job for audio ``jobs/<id>.<extension>``; its status is written, the audio is not.

    Write the status before the audio (or before handing out an upload URL), so the blob trigger
    always finds the job the audio belongs to.
    """
    from azure.core.exceptions import ResourceExistsError

    now = now or _now()
    for _ in range(3):  # an id collision needs 80 equal random bits in the same millisecond
        job_id = new_job_id(now)
        stamp = _iso(now)
        job = Job(id=job_id, status=QUEUED, created_at=stamp, updated_at=stamp, seconds_done=0.0,
                  audio={"container": store.audio.container_name, "name": audio_blob_name(job_id, extension)})
        try:
            return _write(store, job, create=True)
        except ResourceExistsError:
            continue
    raise StorageError("could not find an unused job id")


def get_job(store: JobStore, job_id: str) -> Job:
    """The job's current status document (``JobNotFoundError`` when there is none)."""
    return _read(store, parse_job_id(job_id))


def start_job(store: JobStore, job_id: str, *, seconds_total: float | None = None,
              now: datetime | None = None) -> Job:
    """Mark the job ``running`` (again, on a retry: ``attempts`` counts them). Returns the job as stored.

    A job that already finished is returned unchanged: check ``job.terminal`` and skip the work.
    """
    def change(job: Job) -> Job | None:
        if job.terminal:
            return None
        stamp = _iso(now or _now())
        total = seconds_total if seconds_total is not None else job.seconds_total
        return replace(job, status=RUNNING, started_at=job.started_at or stamp, updated_at=stamp,
                       seconds_done=0.0, seconds_total=total, attempts=job.attempts + 1)

    return _update(store, parse_job_id(job_id), change)[0]


def report_progress(store: JobStore, job_id: str, seconds_done: float, seconds_total: float | None = None,
                    *, now: datetime | None = None) -> Job:
    """Record audio seconds done (and the total, once known) on a ``running`` job; otherwise no change.

    Progress never goes backwards within an attempt. Each call is a storage write: call it every few
    seconds, not per recognised phrase.
    """
    def change(job: Job) -> Job | None:
        if job.status != RUNNING:
            return None
        return replace(job, seconds_done=max(float(seconds_done), job.seconds_done or 0.0),
                       seconds_total=seconds_total if seconds_total is not None else job.seconds_total,
                       updated_at=_iso(now or _now()))

    return _update(store, parse_job_id(job_id), change)[0]


@dataclass(frozen=True)
class Finish:
    """What ``finish_job`` did: ``won`` if this call made the job terminal, ``notified`` if it sent the message."""

    job: Job
    won: bool
    notified: bool


def finish_job(store: JobStore, job_id: str, *, results: Mapping[str, str] | None = None,
               error: TranscriptionError | Mapping[str, str] | None = None, api_base: str = "/api",
               now: datetime | None = None) -> Finish:
    """Make the job ``succeeded`` (no ``error``) or ``failed``, and send its completion message once.

    Idempotent: on a job that already finished nothing changes, except that a completion message
    that was never sent (its sender failed or died) is sent now. Call it again on the path that finds
    the work already done, so a message lost to a failed send is delivered by the retry.
    Raises ``StorageError`` when the message could not be sent (the host's retry sends it).
    """
    job_id = parse_job_id(job_id)
    claim = secrets.token_hex(8)

    def change(job: Job) -> Job | None:
        if job.terminal:
            return None
        stamp = _iso(now or _now())
        failed = error is not None
        return replace(
            job, status=FAILED if failed else SUCCEEDED, finished_at=stamp, updated_at=stamp,
            error=_error_body(error) if failed else None, results=dict(results or {}),
            seconds_done=job.seconds_total if not failed and job.seconds_total is not None else job.seconds_done,
            completion={"state": "claimed", "at": stamp, "claim": claim} if store.completions is not None else None,
        )

    job, won = _update(store, job_id, change)
    if store.completions is None or job.completion is None:
        return Finish(job, won, False)
    if not won:
        job, claimed = _claim_completion(store, job, claim, now)
        if not claimed:
            return Finish(job, won, False)
    return Finish(_send_completion(store, job, claim, api_base, now), won, True)


def _claim_completion(store: JobStore, job: Job, claim: str, now: datetime | None) -> tuple[Job, bool]:
    """Take the job's unsent completion message for this caller, if no live sender holds it."""
    def change(current: Job) -> Job | None:
        completion = current.completion or {}
        state = completion.get("state")
        if state == "sent" or current.completion is None:
            return None
        if state == "claimed" and _age_seconds(str(completion.get("at")), now) < COMPLETION_CLAIM_SECONDS:
            return None
        stamp = _iso(now or _now())
        return replace(current, completion={"state": "claimed", "at": stamp, "claim": claim}, updated_at=stamp)

    return _update(store, job.id, change)


def _send_completion(store: JobStore, job: Job, claim: str, api_base: str, now: datetime | None) -> Job:
    from azure.core.exceptions import AzureError

    message = completion_message(job, store.results.container_name, api_base=api_base)
    try:
        sent = store.completions.send_message(json.dumps(message, ensure_ascii=False))
    except AzureError as exc:
        # Release the claim so the host's retry can send at once; if even that fails, the claim
        # simply ages out (COMPLETION_CLAIM_SECONDS) and a later delivery takes it over.
        with suppress(TranscriptionError):
            _mark_completion(store, job.id, claim, {"state": "unsent"}, now)
        raise storage_error(f"sending the completion message of job {job.id}", exc) from None
    return _mark_completion(store, job.id, claim, {"state": "sent", "message_id": getattr(sent, "id", None)}, now)


def _mark_completion(store: JobStore, job_id: str, claim: str, completion: dict[str, object],
                     now: datetime | None) -> Job:
    """Record what became of our claimed message; a claim someone else took over is left to them."""
    def change(job: Job) -> Job | None:
        if (job.completion or {}).get("claim") != claim:
            return None
        stamp = _iso(now or _now())
        return replace(job, completion={**completion, "at": stamp}, updated_at=stamp)

    return _update(store, job_id, change)[0]


# -- listing and deleting -----------------------------------------------------------------------------
@dataclass(frozen=True)
class JobSummary:
    """A job as a listing sees it: from the status blob's metadata, without reading the document."""

    id: str
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobSummary]
    next_page_token: str | None  # pass back as ``page_token``; ``None``: nothing more


def list_jobs(store: JobStore, *, status: str | None = None, top: int = DEFAULT_PAGE_SIZE,
              page_token: str | None = None, scan_page_size: int = 1000, max_scan_pages: int = 5) -> JobPage:
    """Jobs newest first (see the ids above), optionally only those in ``status``, ``top`` at a time.

    One list request reads ``scan_page_size`` blob names with their metadata (status documents and
    results share the ``jobs/`` prefix; only status documents count). At most ``max_scan_pages``
    requests per call keep a rare ``status`` filter over a long history bounded: such a page may
    hold fewer than ``top`` jobs, even none, and still carry a token. Stop when the token is ``None``.
    The token is opaque to clients: storage's own continuation marker plus the last id returned.
    """
    from azure.core.exceptions import AzureError

    if status is not None and status not in STATUSES:
        raise InvalidJobQueryError(f"status must be one of {', '.join(STATUSES)}, got {str(status)[:20]!r}")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_PAGE_SIZE:
        raise InvalidJobQueryError(f"top must be a whole number from 1 to {MAX_PAGE_SIZE}")
    marker, after = _decode_page_token(page_token)
    found: list[JobSummary] = []
    try:
        pages = store.results.list_blobs(name_starts_with=JOBS_PREFIX, include=["metadata"],
                                         results_per_page=scan_page_size).by_page(continuation_token=marker)
        for _ in range(max_scan_pages):
            page = next(pages, None)
            if page is None:
                return JobPage(found, None)
            for blob in page:
                match = _STATUS_NAME.fullmatch(blob.name)
                if not match or (after is not None and match.group(1) <= after):
                    continue
                metadata = blob.metadata or {}
                if status is not None and metadata.get("status") != status:
                    continue
                if len(found) == top:  # there is more: resume inside this page, after the last one returned
                    return JobPage(found, _encode_page_token(marker, found[-1].id))
                job_id = match.group(1)
                found.append(JobSummary(job_id, metadata.get("status", ""),
                                        metadata.get("created_at") or _iso(job_created_at(job_id)),
                                        metadata.get("finished_at")))
            marker, after = pages.continuation_token or None, None
            if marker is None:
                return JobPage(found, None)
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 400 and page_token:
            raise InvalidJobQueryError("the page token is not valid (any more)") from None
        raise storage_error("listing jobs", exc) from None
    return JobPage(found, _encode_page_token(marker, None))


def delete_job(store: JobStore, job_id: str) -> None:
    """Remove the job's audio, results and status document (the status last, so a failed delete can
    be repeated). ``JobNotFoundError`` when nothing of it exists."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    job_id = parse_job_id(job_id)
    prefix, status_name = f"{JOBS_PREFIX}{job_id}", status_blob_name(job_id)
    found = False
    try:
        for container in (store.audio, store.results):
            names = sorted((b.name for b in container.list_blobs(name_starts_with=prefix)),
                           key=lambda name: name == status_name)  # the status document last
            for name in names:
                found = True
                with suppress(ResourceNotFoundError):  # deleted meanwhile by someone else: fine
                    container.delete_blob(name, delete_snapshots="include")
    except AzureError as exc:
        raise storage_error(f"deleting job {job_id}", exc) from None
    if not found:
        raise JobNotFoundError(f"no transcription job {job_id!r}")


# -- storage ------------------------------------------------------------------------------------------
def _read(store: JobStore, job_id: str) -> Job:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    name = status_blob_name(job_id)
    try:
        download = store.results.download_blob(name)
        data = download.readall()
    except ResourceNotFoundError as exc:
        if getattr(exc, "error_code", None) == "ContainerNotFound":  # a setting names the wrong container
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


def _write(store: JobStore, job: Job, *, create: bool = False) -> Job:
    """Write the document: ``create`` only if absent, otherwise only over the ETag it was read with.

    Raises ``ResourceExistsError`` / ``ResourceModifiedError`` on a lost race, for the caller to decide.
    """
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError
    from azure.storage.blob import ContentSettings

    name = status_blob_name(job.id)
    metadata = {"status": job.status, "created_at": job.created_at}
    if job.finished_at:
        metadata["finished_at"] = job.finished_at
    condition = {} if create else {"etag": job.etag, "match_condition": MatchConditions.IfNotModified}
    try:
        written = store.results.get_blob_client(name).upload_blob(
            json.dumps(job.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"), overwrite=not create,
            metadata=metadata, content_settings=ContentSettings(content_type="application/json; charset=utf-8"),
            **condition,
        )
    except (ResourceExistsError, ResourceModifiedError):
        raise
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 412:
            raise ResourceModifiedError(message=str(exc)) from None
        raise storage_error(f"writing {name}", exc) from None
    return replace(job, etag=written["etag"])


def _update(store: JobStore, job_id: str, change: Callable[[Job], Job | None]) -> tuple[Job, bool]:
    """Read, ``change``, write over the same ETag; on a lost race read again and decide again.

    ``change`` returns ``None`` for "nothing to do" (the answer is then the job as read, ``False``).
    """
    from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

    for attempt in range(MAX_WRITE_RACES):
        job = _read(store, job_id)
        changed = change(job)
        if changed is None:
            return job, False
        try:
            return _write(store, replace(changed, etag=job.etag)), True
        except ResourceModifiedError:
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # spread out writers that keep colliding
        except ResourceNotFoundError:
            raise JobNotFoundError(f"no transcription job {job_id!r}") from None
    raise StorageError(f"job {job_id}: its status kept changing under {MAX_WRITE_RACES} tries")


# -- small helpers ------------------------------------------------------------------------------------
def _encode_page_token(marker: str | None, after: str | None) -> str:
    raw = json.dumps({"m": marker, "a": after}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_page_token(token: str | None) -> tuple[str | None, str | None]:
    if token is None or token == "":
        return None, None
    try:
        if not isinstance(token, str) or len(token) > 4096:
            raise ValueError("too long")
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        marker, after = body["m"], body["a"]
        if not (marker is None or isinstance(marker, str)) or not (after is None or _ID.fullmatch(after)):
            raise ValueError("bad fields")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise InvalidJobQueryError("the page token is not one this service gave out") from None
    return marker, after


def _error_body(error: TranscriptionError | Mapping[str, str]) -> dict[str, str]:
    if isinstance(error, TranscriptionError):
        return {"code": error.code, "message": error.message}
    return {"code": str(error.get("code", "transcription_failed")), "message": str(error.get("message", ""))}


def _base32(value: int, chars: int) -> str:
    out = []
    for _ in range(chars):
        value, digit = divmod(value, 32)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _age_seconds(stamp: str, now: datetime | None) -> float:
    try:
        return ((now or _now()) - datetime.fromisoformat(stamp)).total_seconds()
    except (TypeError, ValueError):
        return float("inf")  # no readable time: treat the claim as abandoned
