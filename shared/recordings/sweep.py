"""The sweep: a timer run that finishes what no event did, so that no recording needs a person.

Events get lost, expire in the host's queue, or hand a transient failure over on the host's last delivery.
Each run polls the batch transcriptions no callback has finished (``shared.batch.poll``), gives up recordings
past ``MAX_ATTEMPTS``, records refused names whose event never came, transcribes what is due
(``sweep_delay_seconds`` after its last try) through the same door, expires jobs whose audio never came, sends
completion messages whose send failed, and logs one line (``docs/recovery.md``). No new work starts after
``SWEEP_RUN_SECONDS``: the events carry the normal load.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.batch.poll import PollReport, poll_waiting
from shared.errors import NameRefusedError, RetriesExhaustedError, TranscriptionError
from shared.jobs.completion import send_unsent
from shared.jobs.expiry import expire_stale_jobs
from shared.jobs.listing import unsent_completions
from shared.jobs.store import JobStore, store_for
from shared.jobs.tracker import JobTracker
from shared.platform import storage
from shared.platform.retry_policy import SWEEP_RUN_SECONDS, sweep_delay_seconds
from shared.recordings.catch_up import catch_up
from shared.recordings.claims import claim
from shared.recordings.door import BlobOutcome
from shared.recordings.input_names import record_fits
from shared.recordings.pending import REFUSED, Recording, scan
from shared.recordings.results import Tries, record_error, result_names, transcribed_version
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one run found and did."""

    pending: int = 0
    due: int = 0
    outcomes: dict[str, int] = field(
        default_factory=lambda: {"transcribed": 0, "submitted": 0, "skipped": 0, "failed": 0, "removed": 0}
    )
    batch: PollReport = field(default_factory=PollReport)
    given_up: int = 0
    refused: int = 0
    left: int = 0
    expired_jobs: int = 0
    completions_sent: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        ended = self.outcomes
        return (
            f"sweep: {self.pending} pending, {self.due} due: {ended['transcribed']} transcribed, "
            f"{ended['submitted']} submitted to batch, {ended['failed']} failed, {ended['skipped']} skipped, "
            f"{ended['removed']} removed (their job gone), {self.left} left for the next run; {self.given_up} "
            f"given up, {self.refused} refused for their names; {self.expired_jobs} job(s) expired, "
            f"{self.completions_sent} completion message(s) sent late; {self.batch.line()}; {self.seconds:.1f} s"
        )


def run_sweep(
    settings: Settings | None = None,
    *,
    now: datetime | None = None,
    prefix: str | None = None,
    run_seconds: float = SWEEP_RUN_SECONDS,
) -> SweepReport:
    """One sweep run; ``now`` and ``prefix`` are for tests."""
    started = time.monotonic()
    settings = settings or Settings.from_env()
    now = now or datetime.now(UTC)
    report = SweepReport()
    report.batch = poll_waiting(settings, now, started + run_seconds)  # finished now, counted in this scan
    found = scan(settings, prefix)
    recordings = [r for r in found if r.pending]
    report.pending = len(recordings)

    def refused(_name: str, outcome: BlobOutcome) -> None:
        report.refused += outcome.error is not None and outcome.error.code == NameRefusedError.code

    # through the door, as their lost events would have gone: it records each refusal and transcribes nothing
    catch_up(settings, [r.name for r in found if _unrecorded_refusal(r)], on_outcome=refused)
    exhausted = [r for r in recordings if r.error is not None and r.error.faults >= settings.max_attempts]
    for recording in exhausted:
        report.given_up += _give_up(settings, recording)
    due = [r.name for r in recordings if r not in exhausted and is_due(r, now)]
    report.due = len(due)

    def count(_name: str, outcome: BlobOutcome) -> None:
        report.outcomes[outcome.status] = report.outcomes.get(outcome.status, 0) + 1

    report.left = catch_up(
        settings, due, concurrency=settings.sweep_concurrency, stop_at=started + run_seconds, on_outcome=count
    )
    report.expired_jobs, report.completions_sent = _jobs(settings, now)
    report.seconds = time.monotonic() - started
    log.info(report.line())
    return report


def is_due(recording: Recording, now: datetime) -> bool:
    """Whether the backoff since the recording's last try (or its upload) has passed."""
    error = recording.error
    last = error.at if error is not None and error.at is not None else recording.last_modified
    attempt = error.attempt if error is not None else 0
    return last is None or now >= last + timedelta(seconds=sweep_delay_seconds(attempt))


def _give_up(settings: Settings, recording: Recording) -> int:
    """Record a recording's tries as exhausted (permanent); 1 if this run did it, 0 if the next run must."""
    last = recording.error
    error = RetriesExhaustedError(
        f"gave up after {last.faults} failed tries (MAX_ATTEMPTS={settings.max_attempts}); "
        f"the last failed with {last.code}"
    )
    try:
        with storage.connect(settings) as clients:
            out = clients.blobs.get_container_client(settings.output_container)
            names = result_names(recording.name)
            with claim(out, recording.name) as mine:
                if not mine or transcribed_version(out, names, recording.etag):
                    return 0
                tries = Tries(last.attempt, last.attempt, last.faults)
                record_error(out, names["error"], error, etag=f'"{recording.etag}"', tries=tries)
                job = JobTracker.for_blob(clients, settings, recording.name)
                if job is not None:  # its audio's record above is what counts if the job cannot be marked
                    job.failed(error)
    except TranscriptionError as exc:
        log.warning("sweep: %s not given up yet: %s: %s", recording.name, exc.code, exc.message)
        return 0
    log.warning("%s: %s", recording.name, error.message)
    return 1


def _unrecorded_refusal(recording: Recording) -> bool:
    """A refused recording without its ``name_refused`` record yet (its event was lost), where one fits."""
    return (
        recording.state == REFUSED
        and record_fits(recording.name)
        and (recording.error is None or recording.error.code != NameRefusedError.code)
    )


def _jobs(settings: Settings, now: datetime) -> tuple[int, int]:
    """Expire the jobs whose audio never came and send the completion messages a failed send left; how many
    of each. A storage failure here waits for the next run."""
    try:
        with storage.connect(settings) as clients:
            store = store_for(clients, settings)
            expired = len(expire_stale_jobs(store, settings.job_queued_ttl_minutes, now=now))
            return expired, _send_unsent(store, now)
    except TranscriptionError as error:
        log.warning("sweep: jobs not checked for expiry or unsent completions: %s: %s", error.code, error.message)
        return 0, 0


def _send_unsent(store: JobStore, now: datetime) -> int:
    """Send every finished job's unsent completion message; how many went. One failed send spoils no other."""
    if store.completions is None:
        return 0
    sent = 0
    for job_id in unsent_completions(store):
        try:
            sent += send_unsent(store, job_id, now=now)
        except TranscriptionError as error:  # still unsent: the next run tries again
            log.warning("job %s: completion message not sent: %s: %s", job_id, error.code, error.message)
    return sent
