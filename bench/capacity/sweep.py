"""The sweep's door: a timer function, on its own instance, that transcribes what the host did not.

Each run does what ``shared.recordings.sweep.run_sweep`` does, at the run's start time:

1. lists the recordings still pending (``Listing``: no transcript, no permanent record), in name order;
2. gives up each whose error record counts ``MAX_ATTEMPTS`` faults (throttling never counts), unless
   another worker holds it;
3. transcribes the others that are due (``is_due``: ``sweep_delay_seconds(attempt)`` since the last
   try, or since the upload), in listing order, ``SWEEP_CONCURRENCY`` at a time through the same
   handler, starting none after ``SWEEP_RUN_SECONDS``. The list is the run's snapshot: a recording
   the host took meanwhile is skipped by the door (claimed or transcribed), one the host tried and
   failed meanwhile is tried again.

The run is one invocation: ``functionTimeout`` after its start the host kills it, with every session
it is running. A timer function does not overlap itself: a run still going at the next tick delays
the next run to the first tick after it ends (ASSUMPTION: the timer trigger's singleton lock).
"""

from __future__ import annotations

import math
from collections import deque

from bench.capacity.assumptions import Assumptions
from bench.capacity.engine import (
    CLAIMED,
    DONE,
    GIVEN_UP,
    PENDING,
    SUBMITTED,
    SWEEP,
    Listing,
    Loop,
    Recording,
    Stats,
    is_due,
)
from bench.capacity.handler import Handler


class Sweep:
    """The timer function and its concurrent workers."""

    def __init__(
        self, loop: Loop, handler: Handler, listing: Listing, stats: Stats, assumptions: Assumptions, concurrency: int
    ) -> None:
        self.loop, self.handler, self.listing, self.stats, self.a = loop, handler, listing, stats, assumptions
        self.concurrency = concurrency
        self.run_started = 0.0
        self.workers = 0
        self.todo: deque[Recording] = deque()

    def start(self) -> None:
        if self.concurrency > 0:
            self.loop.at(self.a.sweep_period_s, self._run)

    def _run(self) -> None:
        now = self.run_started = self.loop.now
        self.stats.sweep_runs += 1
        pending = self.listing.pending()
        exhausted = [rec for rec in pending if rec.faults >= self.a.max_attempts]
        for rec in exhausted:
            if rec.state == PENDING:  # the give-up claims the recording too: a held one waits a run
                rec.state = GIVEN_UP  # a permanent record: no later run lists it
                self.stats.given_up += 1
        self.todo = deque(rec for rec in pending if rec.faults < self.a.max_attempts and is_due(rec, now))
        self.workers = self.concurrency
        for _ in range(self.concurrency):
            self._next()

    def _next(self, _outcome: str | None = None) -> None:
        """A worker takes the next recording of the snapshot, or stops; the last to stop ends the run."""
        now = self.loop.now
        if self.todo and now < self.run_started + self.a.sweep_run_budget_s:
            rec = self.todo.popleft()
            if rec.state in (CLAIMED, SUBMITTED, DONE):  # the door finds it held or transcribed and returns
                self.stats.sweep_skipped += 1
                self.loop.after(self.a.skip_s, self._next)
            else:
                self.stats.sweep_attempts += 1
                self.handler.attempt(rec, SWEEP, self.run_started + self.a.function_timeout_s, self._next)
            return
        self.workers -= 1
        if self.workers == 0:
            self.stats.sweep_function_s += now - self.run_started
            period = self.a.sweep_period_s
            self.loop.at(max(math.ceil(now / period), math.floor(self.run_started / period) + 1) * period, self._run)
