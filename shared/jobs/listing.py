"""Finding jobs, from blob names and metadata only (every write copies the status there): a page of recent
ones, newest first, and deleting one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass

from azure.core.exceptions import AzureError

from shared.errors import InvalidJobQueryError, JobStateError
from shared.jobs.model import QUEUED, STATUSES, iso
from shared.jobs.names import (
    JOBS_PREFIX,
    is_job_id,
    job_created_at,
    job_id_from_blob_name,
    job_id_from_status_name,
    parse_job_id,
    status_blob_name,
)
from shared.jobs.store import JobStore, read
from shared.platform.storage import delete_if_exists, storage_error
from shared.recordings.results import result_names

#: Jobs per page of ``list_jobs``.
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


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


def list_jobs(
    store: JobStore,
    *,
    status: str | None = None,
    top: int = DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
    scan_page_size: int = 1000,
    max_scan_pages: int = 5,
) -> JobPage:
    """Jobs newest first, optionally only those in ``status``. At most ``max_scan_pages`` list requests per
    call, so a rare ``status`` over a long history may give a short page, even an empty one, with a token:
    stop when it is ``None``."""
    _check_query(status, top)
    marker, after = _decode_page_token(page_token)
    found: list[JobSummary] = []
    try:
        pages = store.results.list_blobs(
            name_starts_with=JOBS_PREFIX, include=["metadata"], results_per_page=scan_page_size
        ).by_page(continuation_token=marker)
        for _ in range(max_scan_pages):
            page = next(pages, None)
            if page is None:
                return JobPage(found, None)
            for blob in page:
                summary = _summary(blob, status, after)
                if summary is None:
                    continue
                if len(found) == top:  # there is more: resume inside this page, after the last one returned
                    return JobPage(found, _encode_page_token(marker, found[-1].id))
                found.append(summary)
            marker, after = pages.continuation_token or None, None
            if marker is None:
                return JobPage(found, None)
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 400 and page_token:
            raise InvalidJobQueryError("the page token is not valid (any more)") from None
        raise storage_error("listing jobs", exc) from None
    return JobPage(found, _encode_page_token(marker, None))


def _check_query(status: str | None, top: int) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidJobQueryError(f"status must be one of {', '.join(STATUSES)}, got {str(status)[:20]!r}")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_PAGE_SIZE:
        raise InvalidJobQueryError(f"top must be a whole number from 1 to {MAX_PAGE_SIZE}")


def _summary(blob, status: str | None, after: str | None) -> JobSummary | None:
    """The listed blob as a job, if it is a status document past ``after`` in ``status``."""
    job_id = job_id_from_status_name(blob.name)
    if job_id is None or (after is not None and job_id <= after):
        return None
    metadata = blob.metadata or {}
    if status is not None and metadata.get("status") != status:
        return None
    return JobSummary(
        job_id,
        metadata.get("status", ""),
        metadata.get("created_at") or iso(job_created_at(job_id)),
        metadata.get("finished_at"),
    )


def count_jobs(store: JobStore) -> dict[str, int]:
    """How many jobs are in each status (every status named, zeros included), from one listing."""
    found = dict.fromkeys(STATUSES, 0)
    for _job_id, metadata in _every_status(store, "counting jobs"):
        status = metadata.get("status", "")
        found[status] = found.get(status, 0) + 1
    return found


def unsent_completions(store: JobStore) -> list[str]:
    """The finished jobs whose completion message is not recorded as sent (its send failed or its
    sender died), from one listing; ``shared.jobs.completion.send_unsent`` sends each."""
    return [
        job_id
        for job_id, metadata in _every_status(store, "listing unsent completions")
        if metadata.get("completion") in ("claimed", "unsent") and metadata.get("status") != QUEUED
    ]


def _every_status(store: JobStore, action: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every job's id and status-blob metadata, in listing order, in as few list requests as storage allows."""
    try:
        for blob in store.results.list_blobs(name_starts_with=JOBS_PREFIX, include=["metadata"]):
            job_id = job_id_from_status_name(blob.name)
            if job_id is not None:
                yield job_id, blob.metadata or {}
    except AzureError as exc:
        raise storage_error(action, exc) from None


def delete_job(store: JobStore, job_id: str) -> None:
    """Remove exactly the job's own blobs, each by name, never by prefix; the status document last, so a
    delete that fails half-way can be repeated. ``JobNotFoundError`` without one."""
    job = read(store, parse_job_id(job_id))
    audio_name = job.audio.get("name") if isinstance(job.audio, dict) else None
    if job_id_from_blob_name(audio_name) != job.id:  # a hand-edited document must not aim the delete elsewhere
        raise JobStateError(f"job {job.id}'s status document names audio {str(audio_name)[:80]!r}, not its own")
    doomed = [(store.audio, audio_name)] + [(store.results, name) for name in result_names(audio_name).values()]
    doomed.append((store.results, status_blob_name(job.id)))
    for container, name in doomed:  # one never written, or deleted meanwhile, is fine
        delete_if_exists(container, name, delete_snapshots="include")


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
        if not (marker is None or isinstance(marker, str)) or not (after is None or is_job_id(after)):
            raise ValueError("bad fields")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise InvalidJobQueryError("the page token is not one this service gave out") from None
    return marker, after
