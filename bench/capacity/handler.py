"""One transcription attempt, as both doors (the host's delivery, the sweep) run it.

The product runs one handler for both (``shared.recordings.door``), so the model does too: claim, start a
Speech session (or, for a recording on the fast engine, send one request; on the batch engine, submit it, which
the service's callback finishes after its turnaround), run it, then write the transcript or the error record
and let the lease go. A fast or batch request past its rate limit is refused and retried the same way as a
session start past the quota. A refused
start is retried inside the invocation as ``shared.platform.start_retries.retrying`` does: after each refusal, if
any of ``SPEECH_START_RETRY_SECONDS`` is left, wait ``retry_policy.start_retry_delay`` (cut to what is
left) and try again; once none is left the refusal ends the attempt. What happens to the event
afterwards is the door's business.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.capacity.assumptions import Assumptions
from bench.capacity.engine import (
    BATCH,
    CLAIMED,
    DONE,
    FAST,
    FAULT,
    GIVEN_UP,
    HOST,
    KILLED,
    PENDING,
    SUBMITTED,
    SUCCEEDED,
    SWEEP,
    THROTTLED,
    Loop,
    Recording,
    Speech,
    Stats,
)
from shared.platform import retry_policy

OnEnd = Callable[[str], None]


class Handler:
    """Runs attempts against one Speech resource and keeps each recording's record up to date."""

    def __init__(
        self, loop: Loop, speech: Speech, stats: Stats, assumptions: Assumptions, speed: float, rng: random.Random
    ) -> None:
        self.loop, self.speech, self.stats = loop, speech, stats
        self.a = assumptions
        self.speed = speed
        self.rng = rng

    def attempt(self, rec: Recording, door: str, kill_at: float, on_end: OnEnd) -> None:
        """Claim ``rec`` (the caller checked nobody holds it) and try it now; ``on_end(outcome)`` after.

        A given-up recording can still be claimed by a late event: the door reads no permanent record
        before trying, so it tries again (counted; no row of the report has one).
        """
        if rec.state == GIVEN_UP:
            self.stats.given_up -= 1
            self.stats.given_up_retried += 1
        rec.state = CLAIMED
        self._try(rec, door, self.loop.now, 0, kill_at, on_end)

    def _try(self, rec: Recording, door: str, began: float, retry: int, kill_at: float, on_end: OnEnd) -> None:
        now = self.loop.now
        outage = self.speech.down(now)
        if not outage and self._admitted(rec, now):
            self.stats.waiting_s += now - began
            run = {FAST: self._run_fast, BATCH: self._run_batch}.get(rec.engine, self._run_session)
            run(rec, door, kill_at, on_end)
            return
        if outage:
            self.stats.outage_refusals += 1
        elif door == HOST:
            self.stats.refused_host += 1
        else:
            self.stats.refused_sweep += 1
        refused_at = now + self.a.try_cost_s
        left = began + self.a.start_budget_s - refused_at
        if left > 0:  # try again after the backoff, cut to what is left, unless the host kills it first
            ends_at, outcome = refused_at + min(retry_policy.start_retry_delay(retry, self.rng), left), None
        else:  # budget spent: a quota refusal is a capacity wait (THROTTLED), an outage's a fault
            ends_at, outcome = refused_at, FAULT if outage else THROTTLED
        if ends_at >= kill_at:
            ends_at, outcome = kill_at, KILLED
        if outcome is None:
            self.loop.at(ends_at, self._try, rec, door, began, retry + 1, kill_at, on_end)
            return
        self.stats.waiting_s += ends_at - began
        self.loop.at(ends_at, self._finish, rec, door, outcome, on_end)

    def _run_session(self, rec: Recording, door: str, kill_at: float, on_end: OnEnd) -> None:
        """The session holds one quota slot until it ends: done, failed part-way, or past a limit."""
        length = rec.seconds / self.speed + self.a.session_overhead_s
        outcome = SUCCEEDED
        if length > self.a.session_deadline_s:
            length, outcome = self.a.session_deadline_s, FAULT
            self.stats.deadline_failures += 1
        elif self.rng.random() < self.a.blip_probability:
            length, outcome = self.rng.uniform(0.0, length), FAULT
            self.stats.blips += 1
        end = self.loop.now + length
        if end > kill_at:
            end, outcome = kill_at, KILLED
        if door == SWEEP:
            self.stats.sweep_session_s += end - self.loop.now
        self.loop.at(end, self._close, rec, door, outcome, on_end)

    def _run_fast(self, rec: Recording, door: str, kill_at: float, on_end: OnEnd) -> None:
        """One fast request: the upload and the answer, holding no session slot; it may fail part-way too."""
        length = rec.seconds / self.a.fast_speed + self.a.fast_overhead_s
        outcome = SUCCEEDED
        if self.rng.random() < self.a.blip_probability:
            length, outcome = self.rng.uniform(0.0, length), FAULT
            self.stats.blips += 1
        end = min(self.loop.now + length, kill_at)
        if door == SWEEP:
            self.stats.sweep_session_s += end - self.loop.now
        self.loop.at(end, self._finish, rec, door, outcome if end < kill_at else KILLED, on_end)

    def _admitted(self, rec: Recording, now: float) -> bool:
        """A session slot, or a place in the fast or batch request rate."""
        if rec.engine == FAST:
            return self.speech.try_fast(now)
        return self.speech.try_batch(now) if rec.engine == BATCH else self.speech.try_open()

    def _run_batch(self, rec: Recording, door: str, kill_at: float, on_end: OnEnd) -> None:
        """The submission: a short invocation; the service finishes the transcription after its turnaround."""
        end = min(self.loop.now + self.a.batch_submit_s, kill_at)
        self.loop.at(end, self._submitted if end < kill_at else self._finish, rec, door, SUCCEEDED, on_end)

    def _submitted(self, rec: Recording, door: str, outcome: str, on_end: OnEnd) -> None:
        rec.state = SUBMITTED
        turnaround = min(self.a.batch_start_delay_s + rec.seconds * self.a.batch_turnaround, self.a.batch_max_s)
        self.loop.after(turnaround, self._called_back, rec)
        on_end(outcome)

    def _called_back(self, rec: Recording) -> None:
        """The callback's finish: its requests within the rate, else the sweep's poll finishes it later."""
        if not self.speech.try_batch(self.loop.now, self.a.batch_finish_requests):
            self.stats.batch_finishes_refused += 1
            self.loop.after(self.a.batch_refused_finish_wait_s, self._called_back, rec)
            return
        self.stats.function_s += self.a.batch_finish_s
        self.loop.after(self.a.batch_finish_s, self._finish, rec, "callback", SUCCEEDED, lambda _outcome: None)

    def _close(self, rec: Recording, door: str, outcome: str, on_end: OnEnd) -> None:
        self.speech.close()
        self._finish(rec, door, outcome, on_end)

    def _finish(self, rec: Recording, door: str, outcome: str, on_end: OnEnd) -> None:
        """Write what the handler writes, release the lease, then tell the door.

        A killed worker writes nothing and releases nothing: its lease lapses ``LEASE_SECONDS`` later,
        and a delivery meanwhile finds the recording claimed and skips it.
        """
        now = self.loop.now
        if outcome == SUCCEEDED:
            rec.state, rec.done_at, rec.done_by = DONE, now, door
            self.stats.done += 1
            self.stats.done_by_sweep += door == SWEEP
        elif outcome == KILLED:
            self.stats.killed += 1
            self.loop.after(self.a.lease_s, self._lapse, rec)
        else:  # shared.recordings.results.Tries: every try counts, events' tries apart, throttling is not a fault
            rec.attempt += 1
            rec.event_tries += door == HOST
            rec.faults += outcome == FAULT
            rec.last_attempt_at = now
            rec.state = PENDING
        on_end(outcome)

    @staticmethod
    def _lapse(rec: Recording) -> None:
        if rec.state == CLAIMED:
            rec.state = PENDING
