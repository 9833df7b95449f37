"""The sweep's door: a timer function, on its own instance, that transcribes what the host did not.

Every ``SWEEP_SCHEDULE`` tick (5 min) one run takes eligible recordings (``Backlog``), oldest
eligible first, ``SWEEP_CONCURRENCY`` at a time through the same handler, and takes no new one after
its run budget. A timer function does not overlap itself: a run still going at the next tick delays
the next run to the first tick after it ends (ASSUMPTION: the timer trigger's singleton lock).
A recording whose error record holds ``SWEEP_MAX_ATTEMPTS`` faults is given up when the sweep
next reaches it; throttled attempts are capacity waits and never count toward that.
"""

from __future__ import annotations

import math

from bench.capacity.assumptions import Assumptions
from bench.capacity.engine import GIVEN_UP, Backlog, Loop, Recording, Stats
from bench.capacity.handler import Handler


class Sweep:
    """The timer function and its concurrent workers."""

    def __init__(self, loop: Loop, handler: Handler, backlog: Backlog, stats: Stats, assumptions: Assumptions,
                 concurrency: int) -> None:
        self.loop, self.handler, self.backlog, self.stats, self.a = loop, handler, backlog, stats, assumptions
        self.concurrency = concurrency
        self.run_started = 0.0
        self.workers = 0

    def start(self) -> None:
        if self.concurrency > 0:
            self.loop.at(self.a.sweep_period_s, self._run)

    def _run(self) -> None:
        self.run_started = self.loop.now
        self.workers = self.concurrency
        self.stats.sweep_runs += 1
        for _ in range(self.concurrency):
            self._next()

    def _next(self, _outcome: str | None = None) -> None:
        """A worker takes the next eligible recording, or stops; the last to stop ends the run."""
        now = self.loop.now
        if now - self.run_started < self.a.sweep_run_budget_s:
            rec = self._take(now)
            if rec is not None:
                self.stats.sweep_attempts += 1
                self.handler.attempt(rec, "sweep", self.run_started + self.a.function_timeout_s, self._next)
                return
        self.workers -= 1
        if self.workers == 0:
            self.stats.sweep_function_s += now - self.run_started
            period = self.a.sweep_period_s
            self.loop.at(max(math.ceil(now / period), math.floor(self.run_started / period) + 1) * period,
                         self._run)

    def _take(self, now: float) -> Recording | None:
        while (rec := self.backlog.take(now)) is not None:
            if rec.faults < self.a.sweep_max_attempts:
                return rec
            rec.state = GIVEN_UP  # written as a permanent failure: nothing tries it again
            self.stats.given_up += 1
        return None
