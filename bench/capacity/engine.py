"""What every part of the model shares: the event loop, the recordings, the Speech quota, the counters.

The loop is a heap of timed callbacks with a sequence number as the tie-break, so two runs with the
same seed take the same path event for event; all randomness comes from one seeded ``random.Random``
passed in. Nothing here knows about the host or the sweep.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from shared import retry_policy

PENDING, CLAIMED, DONE, GIVEN_UP = "pending", "claimed", "done", "given up"
#: How an attempt ends. THROTTLED: the start budget ran out refused by the quota (a capacity wait);
#: FAULT: any other transient failure (outage, blip, session deadline); KILLED: the function timeout.
SUCCEEDED, THROTTLED, FAULT, KILLED = "succeeded", "throttled", "fault", "killed"


class Loop:
    """A discrete-event loop: ``at(time, callback, *args)``, run until done or the horizon."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list = []
        self._seq = itertools.count()
        self.events = 0

    def at(self, when: float, action: Callable, *args) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action, args))

    def after(self, delay: float, action: Callable, *args) -> None:
        self.at(self.now + delay, action, *args)

    def run(self, until: float, finished: Callable[[], bool]) -> None:
        heap = self._heap
        while heap and not finished():
            if heap[0][0] > until:
                self.now = until
                return
            when, _, action, args = heapq.heappop(heap)
            self.now = when
            self.events += 1
            action(*args)


@dataclass(eq=False, slots=True)
class Recording:
    """One uploaded recording and what the product has written about it.

    ``attempt``/``last_attempt_at`` are the transient error record (``.error.json``) that the sweep's
    eligibility reads; ``faults`` counts the failures in it that were not throttling (the give-up
    count). ``state`` CLAIMED is the lease: one worker at a time.
    """

    index: int
    seconds: float
    uploaded_at: float
    kind: str
    state: str = PENDING
    attempt: int = 0
    faults: int = 0
    last_attempt_at: float | None = None
    eligible_at: float = 0.0
    events: int = 0
    deliveries: int = 0
    done_at: float | None = None
    done_by: str = ""


@dataclass
class Stats:
    """Counters over the whole run (per door where the doors differ)."""

    done: int = 0
    given_up: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    events_expired: int = 0
    deliveries: int = 0
    skipped: int = 0
    handed_to_sweep: int = 0
    poisoned: int = 0
    refused_host: int = 0
    refused_sweep: int = 0
    outage_refusals: int = 0
    waiting_s: float = 0.0
    function_s: float = 0.0
    sweep_function_s: float = 0.0
    sweep_runs: int = 0
    sweep_attempts: int = 0
    done_by_sweep: int = 0
    killed: int = 0
    blips: int = 0
    deadline_failures: int = 0
    peak_instances: int = 0

    @property
    def terminal(self) -> int:
        return self.done + self.given_up


class Speech:
    """The Speech resource: ``quota`` concurrent sessions; a start past it is refused, never queued."""

    def __init__(self, quota: int, outage: tuple[float, float] | None = None) -> None:
        self.quota = quota
        self.outage = outage
        self.in_use = 0
        self.peak = 0

    def down(self, now: float) -> bool:
        """During an outage every start fails (connection refused or 5xx), whatever the quota."""
        return self.outage is not None and self.outage[0] <= now < self.outage[1]

    def try_open(self) -> bool:
        if self.in_use >= self.quota:
            return False
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)
        return True

    def close(self) -> None:
        self.in_use -= 1


class Backlog:
    """The sweep's view: recordings without a transcript, ordered by when they become eligible.

    The real sweep lists the input container each run; a heap gives the same answer without walking
    10,000 names every five simulated minutes. An entry is stale when the recording's state or
    eligibility changed after it was pushed; every change pushes a fresh one.
    """

    def __init__(self) -> None:
        self._heap: list = []
        self._seq = itertools.count()

    @staticmethod
    def eligible_at(rec: Recording) -> float:
        """No error record: once ``sweep_delay_seconds(0)`` has passed since the upload; else once
        ``sweep_delay_seconds(attempt)`` has passed since the last attempt (``shared/retry_policy``)."""
        if rec.last_attempt_at is None:
            return rec.uploaded_at + retry_policy.sweep_delay_seconds(0)
        return rec.last_attempt_at + retry_policy.sweep_delay_seconds(rec.attempt)

    def push(self, rec: Recording) -> None:
        rec.eligible_at = self.eligible_at(rec)
        heapq.heappush(self._heap, (rec.eligible_at, next(self._seq), rec))

    def take(self, now: float) -> Recording | None:
        """The longest-eligible unclaimed recording, or None."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, rec = heapq.heappop(heap)
            if rec.state == PENDING and rec.eligible_at == when:
                return rec
        return None
