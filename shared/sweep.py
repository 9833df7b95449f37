"""The sweep: a timer run that finishes what the events did not, so that no recording needs a person.

Events can fail to do the work: Event Grid can lose one (or the subscription was made after the
upload), the host's queue drops a message after 7 days, and a transient failure on the host's last
delivery is handed over here rather than poisoned (``shared.blob_door``). Each run (every
``SWEEP_SCHEDULE``):

1. lists where every recording stands (``shared.pending``): names and metadata only;
2. gives up a recording whose tries have failed ``MAX_ATTEMPTS`` times (throttling is not counted:
   a full quota is a wait, not a fault), writing a permanent ``retries_exhausted`` error (its job fails);
3. transcribes the recordings that are *due*, through the same blob door as the events, at most
   ``SWEEP_CONCURRENCY`` at a time. A recording is due once ``sweep_delay_seconds(attempt)`` has passed
   since its last try (or its upload, if it was never tried: its event may still be on its way), so a
   recording is never tried in a tight loop. The door's claim (``shared.claims``) means two sweeps, or a
   sweep and a late event, never transcribe one recording twice;
4. expires jobs still ``queued`` past ``JOB_QUEUED_TTL_MINUTES`` whose audio never arrived;
5. says what it did in one log line.

No new work starts after ``SWEEP_RUN_SECONDS``; what is left is the next run's.
``python -m shared.backfill`` stays the operator's command: it runs the same door over every pending
recording at once, due or not.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared import storage
from shared.blob_door import RETRY, BlobOutcome, handle_blob
from shared.claims import claim
from shared.errors import RetriesExhaustedError, TranscriptionError
from shared.jobs.completion import finish_job
from shared.jobs.expiry import expire_stale_jobs
from shared.jobs.names import job_id_from_blob_name
from shared.jobs.store import store_for
from shared.pending import Recording, scan
from shared.results import Tries, record_error, result_names
from shared.retry_policy import sweep_delay_seconds
from shared.settings import Settings

log = logging.getLogger(__name__)

#: A run starts no new transcription after this long; running ones finish.
SWEEP_RUN_SECONDS = 600.0


@dataclass
class SweepReport:
    """What one run found and did."""

    pending: int = 0
    due: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"transcribed": 0, "skipped": 0, "failed": 0})
    given_up: int = 0
    left: int = 0
    expired_jobs: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"sweep: {self.pending} pending, {self.due} due: {self.outcomes['transcribed']} transcribed, "
                f"{self.outcomes['failed']} failed, {self.outcomes['skipped']} skipped, {self.left} left for the "
                f"next run; {self.given_up} given up; {self.expired_jobs} job(s) expired; {self.seconds:.1f} s")


def run_sweep(settings: Settings | None = None, *, now: datetime | None = None, prefix: str | None = None,
              run_seconds: float = SWEEP_RUN_SECONDS) -> SweepReport:
    """One sweep; see the module docstring. ``now`` and ``prefix`` are for tests."""
    started = time.monotonic()
    settings = settings or Settings.from_env()
    now = now or datetime.now(UTC)
    report = SweepReport()
    recordings = [r for r in scan(settings, prefix) if r.pending]
    report.pending = len(recordings)
    exhausted = [r for r in recordings if r.error is not None and r.error.faults >= settings.max_attempts]
    for recording in exhausted:
        report.given_up += _give_up(settings, recording)
    due = [r for r in recordings if r not in exhausted and is_due(r, now)]
    report.due = len(due)
    report.left = _transcribe(settings, due, report.outcomes, started + run_seconds)
    report.expired_jobs = _expire_jobs(settings, now)
    report.seconds = time.monotonic() - started
    log.info(report.line())
    return report


def is_due(recording: Recording, now: datetime) -> bool:
    """Whether the backoff since the recording's last try (or its upload) has passed."""
    error = recording.error
    last = error.at if error is not None and error.at is not None else recording.last_modified
    attempt = error.attempt if error is not None else 0
    return last is None or now >= last + timedelta(seconds=sweep_delay_seconds(attempt))


def _transcribe(settings: Settings, due: list[Recording], outcomes: dict[str, int], stop_at: float) -> int:
    """Run the door over ``due``, ``SWEEP_CONCURRENCY`` at a time, until ``stop_at``; how many were left."""
    todo = list(reversed(due))
    with storage.blob_service(settings) as service, ThreadPoolExecutor(settings.sweep_concurrency) as pool:
        inputs = service.get_container_client(settings.input_container)
        running: set[Future[BlobOutcome]] = set()
        while todo or running:
            while todo and len(running) < settings.sweep_concurrency and time.monotonic() < stop_at:
                blob = inputs.get_blob_client(todo.pop().name)
                running.add(pool.submit(handle_blob, blob, settings, via=RETRY))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    status = future.result().status
                except Exception:  # a bug in one recording's try must not end the others'
                    log.exception("sweep: a retry failed unexpectedly")
                    status = "failed"
                outcomes[status] = outcomes.get(status, 0) + 1
    return len(todo)


def _give_up(settings: Settings, recording: Recording) -> int:
    """Record a recording's tries as exhausted (permanent); 1 if this run did it, 0 if someone was at it."""
    last = recording.error
    error = RetriesExhaustedError(f"gave up after {last.faults} failed tries (MAX_ATTEMPTS={settings.max_attempts}); "
                                  f"the last failed with {last.code}")
    with storage.connect(settings) as clients:
        out = clients.blobs.get_container_client(settings.output_container)
        names = result_names(recording.name)
        with claim(out, recording.name) as mine:
            if not mine or storage.read_json(out, names["json"]):  # someone is at it, or just did it
                return 0
            tries = Tries(last.attempt, last.attempt, last.faults)
            record_error(out, names["error"], error, etag=f'"{recording.etag}"', tries=tries)
            job_id = job_id_from_blob_name(recording.name)
            if job_id is not None:
                try:
                    finish_job(store_for(clients, settings), job_id, error=error)
                except TranscriptionError as exc:  # no status document, say: the record above is what counts
                    log.warning("job %s: not marked failed: %s", job_id, exc.message)
    log.warning("%s: %s", recording.name, error.message)
    return 1


def _expire_jobs(settings: Settings, now: datetime) -> int:
    try:
        with storage.connect(settings) as clients:
            return len(expire_stale_jobs(store_for(clients, settings), settings.job_queued_ttl_minutes, now=now))
    except TranscriptionError as error:  # the recordings were the point of the run; jobs wait for the next
        log.warning("sweep: jobs not checked for expiry: %s: %s", error.code, error.message)
        return 0
