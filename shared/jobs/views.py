"""What the outside sees of a job: its URLs and public JSON. Here, not in the HTTP package, because the
completion message, sent from the blob door, carries the same links.
"""

from __future__ import annotations

from shared.jobs.model import Job

#: Where the API's own URLs start (``links``, ``Location``, the completion message).
API_BASE = "/api"


def job_location(job_id: str) -> str:
    """The job's own URL: ``/api/transcriptions/<id>``."""
    return f"{API_BASE}/transcriptions/{job_id}"


def job_links(job: Job) -> dict[str, object]:
    """The job's URLs in the HTTP API: itself, and its transcript per format once it has one."""
    own = job_location(job.id)
    links: dict[str, object] = {"self": own}
    if job.results:
        links["transcript"] = {fmt: f"{own}/transcript?format={fmt}" for fmt in job.results}
    return links


def public_view(job: Job) -> dict[str, object]:
    """What ``GET /api/transcriptions/<id>`` answers: no blob names, no bookkeeping."""
    return {
        "id": job.id,
        "status": job.status,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "engine": job.engine,
        "progress": {"seconds_done": job.seconds_done, "seconds_total": job.seconds_total},
        "error": job.error,
        "links": job_links(job),
    }
