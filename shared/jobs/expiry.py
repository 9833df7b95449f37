"""Jobs whose audio never arrived, ``expired`` after ``JOB_QUEUED_TTL_MINUTES``: an upload URL lapses long
before, and such a job would otherwise say ``queued`` for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.core.exceptions import AzureError

from shared.jobs.completion import expire_job
from shared.jobs.listing import MAX_PAGE_SIZE, list_jobs
from shared.jobs.model import QUEUED, Job, utc_now
from shared.jobs.store import JobStore, get_job
from shared.platform.storage import storage_error


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
    """Whether the job's audio is in storage now. Audio landing just after this look finds its job expired, and
    the blob door removes it: never an expired job with its audio kept or transcribed."""
    try:
        return store.audio.get_blob_client(job.audio["name"]).exists()
    except AzureError as exc:
        raise storage_error(f"checking the audio of job {job.id}", exc) from None
