"""The sweep's net for lost callbacks: each batch transcription in the index that no callback has finished is
polled once its time has come (10 minutes after its submission, then doubling to an hour:
``retry_policy.batch_poll_delay_seconds``) and finished as its callback would have finished it. A lost callback
costs minutes, never a recording. A 429 ends the run's polls: the request quota is the submissions' too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.batch import records
from shared.batch.finish import UNANSWERED, WAITING, finish
from shared.errors import ThrottledError, TranscriptionError
from shared.platform import storage
from shared.platform.retry_policy import batch_poll_delay_seconds
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one run's polls found: how many were due, what each came to (``shared.batch.finish``), and the
    typed errors met (a failed transcription's, or the service's or storage's when nothing changed)."""

    waiting: int = 0
    due: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    left: int = 0

    def line(self) -> str:
        ended = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items())) or "none polled"
        met = "".join(f", {n} {code}" for code, n in sorted(self.errors.items()))
        return f"batch: {self.waiting} waiting, {self.due} due for a poll: {ended}{met}; {self.left} left"


def is_poll_due(waiting: records.Waiting, now: datetime) -> bool:
    """Whether a transcription's next poll has come (never polled: counted from its submission)."""
    last = waiting.polled_at or waiting.submitted_at
    return last is None or now >= last + timedelta(seconds=batch_poll_delay_seconds(waiting.polls))


def poll_waiting(settings: Settings, now: datetime, stop_at: float) -> PollReport:
    """Poll every transcription due, none after ``stop_at`` (``time.monotonic()``); a storage failure listing
    them waits for the next run."""
    report = PollReport()
    try:
        with storage.connect(settings) as clients:
            out = clients.blobs.get_container_client(settings.output_container)
            found = records.waiting(out)
            due = [w for w in found if is_poll_due(w, now)]
            report.waiting, report.due = len(found), len(due)
            report.left = _poll(settings, out, due, now, stop_at, report)
    except TranscriptionError as error:
        log.warning("sweep: batch transcriptions not polled: %s: %s", error.code, error.message)
    return report


def _poll(settings: Settings, out, due: list[records.Waiting], now: datetime, stop_at: float, report) -> int:
    """Poll ``due`` in order; how many were left when the run's time or the quota ran out."""
    for index, waiting in enumerate(due):
        if time.monotonic() >= stop_at:
            return len(due) - index
        done = finish(settings, waiting.transcription, via="poll", now=now)
        status = "gone" if done is None else done.status
        report.outcomes[status] = report.outcomes.get(status, 0) + 1
        if done is not None and done.error is not None:
            report.errors[done.error.code] = report.errors.get(done.error.code, 0) + 1
        if status == WAITING:
            records.note_poll(out, waiting, now)
        if status == UNANSWERED and done.error is not None and done.error.code == ThrottledError.code:
            return len(due) - index - 1
    return 0
