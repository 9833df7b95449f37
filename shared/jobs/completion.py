"""Ending a job, and its completion message sent exactly once.

The write that makes a job terminal is won by exactly one caller, which sends the message; the document
records it (``claimed``, then ``sent``). A failed send is released for the next delivery, and a claim older
than ``COMPLETION_CLAIM_SECONDS`` (its sender died) may be taken over.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime

from azure.core.exceptions import AzureError

from shared.errors import JobExpiredError, TranscriptionError, public_message
from shared.jobs.model import EXPIRED, FAILED, QUEUED, SUCCEEDED, Job, age_seconds, iso, utc_now
from shared.jobs.names import parse_job_id
from shared.jobs.store import JobStore, update
from shared.jobs.views import job_links
from shared.platform.storage import storage_error

COMPLETION_SCHEMA = "stt-job-completion/1"
#: A completion claim older than this is taken to belong to a sender that died.
COMPLETION_CLAIM_SECONDS = 300


@dataclass(frozen=True)
class Finish:
    """What ``finish_job`` did: ``won`` if this call made the job terminal, ``notified`` if it sent the message."""

    job: Job
    won: bool
    notified: bool


def completion_message(job: Job, results_container: str) -> dict[str, object]:
    """The body of the completion message: id, status, links, and where the results are stored."""
    body: dict[str, object] = {
        "schema": COMPLETION_SCHEMA,
        "id": job.id,
        "status": job.status,
        "finished_at": job.finished_at,
        "links": job_links(job),
        "results": {fmt: {"container": results_container, "name": name} for fmt, name in job.results.items()},
    }
    if job.error:
        body["error"] = job.error
    return body


def finish_job(
    store: JobStore,
    job_id: str,
    *,
    results: Mapping[str, str] | None = None,
    error: TranscriptionError | Mapping[str, str] | None = None,
    audio_seconds: float | None = None,
    engine: str | None = None,
    now: datetime | None = None,
) -> Finish:
    """Make the job ``succeeded`` (no ``error``) or ``failed`` and send its completion message once.

    Idempotent, but a message never sent is sent now: call it on the path that finds the work done too.
    ``audio_seconds`` completes the progress of a job too short to have reported any. Raises ``StorageError``
    when the message could not be sent (the host's retry sends it).
    """

    def final(job: Job, stamp: str) -> Job | None:
        if job.terminal:
            return None
        failed = error is not None
        total = job.seconds_total if job.seconds_total is not None else audio_seconds
        return replace(
            job,
            status=FAILED if failed else SUCCEEDED,
            finished_at=stamp,
            updated_at=stamp,
            error=_error_body(error) if failed else None,
            results=dict(results or {}),
            seconds_done=total if not failed and total is not None else job.seconds_done,
            seconds_total=total if not failed else job.seconds_total,
            engine=engine or job.engine,
        )

    return _end(store, job_id, final, now)


def expire_job(store: JobStore, job_id: str, ttl_minutes: float, *, now: datetime | None = None) -> Finish:
    """Make a job still ``queued`` ``expired``: its audio never arrived. Any other job is left as it is."""

    def final(job: Job, stamp: str) -> Job | None:
        if job.status != QUEUED:
            return None
        expired = JobExpiredError(
            f"no audio arrived within {ttl_minutes:g} minutes of the job's creation (JOB_QUEUED_TTL_MINUTES)"
        )
        return replace(job, status=EXPIRED, finished_at=stamp, updated_at=stamp, error=_error_body(expired))

    return _end(store, job_id, final, now)


def _end(store: JobStore, job_id: str, final: Callable[[Job, str], Job | None], now: datetime | None) -> Finish:
    """Apply ``final`` (the terminal state, or ``None``) under the ETag, then send the completion once."""
    job_id = parse_job_id(job_id)
    claim = secrets.token_hex(8)

    def change(job: Job) -> Job | None:
        stamp = iso(now or utc_now())
        ended = final(job, stamp)
        if ended is None:
            return None
        return replace(
            ended,
            completion={"state": "claimed", "at": stamp, "claim": claim} if store.completions is not None else None,
        )

    job, won = update(store, job_id, change)
    if store.completions is None or job.completion is None or not job.terminal:
        return Finish(job, won, False)
    if not won:
        job, claimed = _claim_completion(store, job, claim, now)
        if not claimed:
            return Finish(job, won, False)
    return Finish(_send_completion(store, job, claim, now), won, True)


def send_unsent(store: JobStore, job_id: str, *, now: datetime | None = None) -> bool:
    """Send a finished job's completion message that was never sent (for the sweep: a done transcript is
    never tried again); whether this call sent it. Raises the send's typed error."""
    return _end(store, job_id, lambda _job, _stamp: None, now).notified


def _claim_completion(store: JobStore, job: Job, claim: str, now: datetime | None) -> tuple[Job, bool]:
    """Take the job's unsent completion message for this caller, if no live sender holds it."""

    def change(current: Job) -> Job | None:
        completion = current.completion or {}
        state = completion.get("state")
        if state == "sent" or current.completion is None:
            return None
        if state == "claimed" and age_seconds(str(completion.get("at")), now) < COMPLETION_CLAIM_SECONDS:
            return None
        stamp = iso(now or utc_now())
        return replace(current, completion={"state": "claimed", "at": stamp, "claim": claim}, updated_at=stamp)

    return update(store, job.id, change)


def _send_completion(store: JobStore, job: Job, claim: str, now: datetime | None) -> Job:
    message = completion_message(job, store.results.container_name)
    try:
        sent = store.completions.send_message(json.dumps(message, ensure_ascii=False))
    except AzureError as exc:
        # Release the claim so the host's retry can send at once; if even that fails, the claim
        # simply ages out (COMPLETION_CLAIM_SECONDS) and a later delivery takes it over.
        with suppress(TranscriptionError):
            _mark_completion(store, job.id, claim, {"state": "unsent"}, now)
        raise storage_error(f"sending the completion message of job {job.id}", exc) from None
    return _mark_completion(store, job.id, claim, {"state": "sent", "message_id": getattr(sent, "id", None)}, now)


def _mark_completion(
    store: JobStore, job_id: str, claim: str, completion: dict[str, object], now: datetime | None
) -> Job:
    """Record what became of our claimed message; a claim someone else took over is left to them."""

    def change(job: Job) -> Job | None:
        if (job.completion or {}).get("claim") != claim:
            return None
        stamp = iso(now or utc_now())
        return replace(job, completion={**completion, "at": stamp}, updated_at=stamp)

    return update(store, job_id, change)[0]


def _error_body(error: TranscriptionError | Mapping[str, str]) -> dict[str, str]:
    """The error a job's status document keeps: its public form, since ``GET`` returns the document as is."""
    if isinstance(error, TranscriptionError):
        return error.public_dict()
    return {
        "code": str(error.get("code", "transcription_failed")),
        "message": public_message(str(error.get("message", ""))),
    }
