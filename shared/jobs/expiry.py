"""Jobs whose audio never arrived: ``expired`` once ``JOB_QUEUED_TTL_MINUTES`` have passed.

An upload URL lives 15 minutes, so a job still ``queued`` long after that will never get its audio by
that URL; without this it would say ``queued`` for ever. A job whose audio *is* there is not expired:
its event was lost, and the sweep transcribes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.jobs.completion import expire_job
from shared.jobs.listing import MAX_PAGE_SIZE, list_jobs
from shared.jobs.model import QUEUED, Job, utc_now
from shared.jobs.store import JobStore, get_job


def expire_stale_jobs(store: JobStore, ttl_minutes: float, *, now: datetime | None = None) -> list[str]:
    """Expire every job queued for longer than ``ttl_minutes`` whose audio is not in storage; their ids."""
    now = now or utc_now()
    cutoff = now - timedelta(minutes=ttl_minutes)
    expired, token = [], None
    while True:
        page = list_jobs(store, status=QUEUED, top=MAX_PAGE_SIZE, page_token=token)
        for summary in page.jobs:
            if datetime.fromisoformat(summary.created_at) > cutoff:
                continue
            job = get_job(store, summary.id)
            if not audio_arrived(store, job) and expire_job(store, job.id, ttl_minutes, now=now).won:
                expired.append(job.id)
        token = page.next_page_token
        if token is None:
            return expired


def audio_arrived(store: JobStore, job: Job) -> bool:
    """Whether the job's audio is in storage now. An upload may land just after this look and before the
    job is expired: the blob door then finds the job expired and removes the audio (``JobTracker.abandoned``),
    so the outcome is an expired job and no audio, never an expired job with its audio kept or transcribed."""
    from azure.core.exceptions import AzureError

    from shared.platform.storage import storage_error

    try:
        return store.audio.get_blob_client(job.audio["name"]).exists()
    except AzureError as exc:
        raise storage_error(f"checking the audio of job {job.id}", exc) from None
