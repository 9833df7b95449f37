"""A job's status document (``schema: stt-job/1``): its states, its fields, its JSON form.

The state only ever moves forward::

    queued ──► running ──► succeeded
       │          │ ▲ progress, retries
       │          └─┴──► failed
       └──► expired  (no audio arrived within JOB_QUEUED_TTL_MINUTES; the sweep decides)

Terminal states never change, however often a redelivered event tries (``shared.jobs.store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.errors import JobNotFoundError, JobStateError
from shared.jobs.names import parse_job_id

SCHEMA = "stt-job/1"

QUEUED, RUNNING, SUCCEEDED, FAILED, EXPIRED = "queued", "running", "succeeded", "failed", "expired"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, EXPIRED)
TERMINAL = frozenset({SUCCEEDED, FAILED, EXPIRED})


@dataclass(frozen=True)
class Job:
    """One job's status document, plus the ETag it was read with."""

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
    #: The recognition options the job asked for (``RecognitionOptions.to_dict()``), applied when it runs.
    options: dict[str, object] | None = None
    #: The engine, once known: at a batch submission (the job then waits for the service), else at success.
    engine: str | None = None
    etag: str | None = field(default=None, compare=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "id": self.id,
            "status": self.status,
            "audio": self.audio,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "updated_at": self.updated_at,
            "progress": {"seconds_done": self.seconds_done, "seconds_total": self.seconds_total},
            "error": self.error,
            "results": self.results,
            "attempts": self.attempts,
            "completion": self.completion,
            "options": self.options,
            "engine": self.engine,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, object], etag: str | None = None) -> Job:
        try:
            progress = body.get("progress") or {}
            job = cls(
                id=parse_job_id(body["id"]),
                status=str(body["status"]),
                audio=dict(body["audio"]),
                created_at=str(body["created_at"]),
                started_at=body.get("started_at"),
                finished_at=body.get("finished_at"),
                updated_at=body.get("updated_at"),
                seconds_done=progress.get("seconds_done"),
                seconds_total=progress.get("seconds_total"),
                error=body.get("error"),
                results=dict(body.get("results") or {}),
                attempts=int(body.get("attempts") or 0),
                completion=body.get("completion"),
                options=body.get("options"),
                engine=body.get("engine"),
                etag=etag,
            )
        except (KeyError, TypeError, ValueError, AttributeError, JobNotFoundError) as exc:
            raise JobStateError(f"job status document is not valid: {type(exc).__name__}: {exc}") from None
        if job.status not in STATUSES:
            raise JobStateError(f"job {job.id} has an unknown status {job.status!r}")
        return job


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The form every time in a status document takes: UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def age_seconds(stamp: str, now: datetime | None) -> float:
    """Seconds since ``stamp`` (``inf`` when it is not a readable time)."""
    try:
        return ((now or utc_now()) - datetime.fromisoformat(stamp)).total_seconds()
    except (TypeError, ValueError):
        return float("inf")
