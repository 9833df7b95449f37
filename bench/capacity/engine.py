"""What every part of the model shares: the event loop, the recordings, the Speech quota, the counters.

The loop is a heap of timed callbacks with a sequence number as the tie-break, so two runs with the
same seed take the same path event for event; all randomness comes from one seeded ``random.Random``
passed in. Nothing here knows how the host or the sweep use them.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from shared.platform import retry_policy

PENDING, CLAIMED, DONE, GIVEN_UP = "pending", "claimed", "done", "given up"
#: With batch transcription: submitted, its record beside it; no door tries it until it is finished.
SUBMITTED = "submitted"
#: How an attempt ends. THROTTLED: the start budget ran out refused by the quota (a capacity wait);
#: FAULT: any other transient failure (outage, blip, session deadline); KILLED: the function timeout.
SUCCEEDED, THROTTLED, FAULT, KILLED = "succeeded", "throttled", "fault", "killed"
#: The two doors: the host's delivery of an event (``via=EVENT``) and the sweep (``via=RETRY``).
HOST, SWEEP = "host", "sweep"
#: The engine a recording runs on: a real-time session (holds a quota slot), one fast request (rate-limited), or
#: a batch submission the service finishes later (rate-limited, no session, no waiting function).
REALTIME, FAST, BATCH = "realtime", "fast", "batch"


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

    ``attempt``, ``event_tries``, ``faults`` and ``last_attempt_at`` are its error record
    (``shared.recordings.results.Tries``: every try; the tries by events, which decide the door's last delivery;
    the failed tries that were not throttling, which decide giving up; when). ``state`` CLAIMED is
    the lease (``shared.recordings.claims``): one worker at a time. ``raised``: host tries whose failure the door
    raised for the host to deliver again.
    """

    index: int
    seconds: float
    uploaded_at: float
    kind: str
    engine: str = REALTIME
    state: str = PENDING
    attempt: int = 0
    event_tries: int = 0
    faults: int = 0
    last_attempt_at: float | None = None
    raised: int = 0
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
    sweep_skipped: int = 0
    handed_to_sweep: int = 0
    poisoned: int = 0
    refused_host: int = 0
    refused_sweep: int = 0
    outage_refusals: int = 0
    waiting_s: float = 0.0
    function_s: float = 0.0
    sweep_function_s: float = 0.0
    sweep_session_s: float = 0.0
    sweep_runs: int = 0
    sweep_attempts: int = 0
    given_up_retried: int = 0
    done_by_sweep: int = 0
    killed: int = 0
    blips: int = 0
    deadline_failures: int = 0
    peak_instances: int = 0
    batch_finishes_refused: int = 0

    @property
    def terminal(self) -> int:
        return self.done + self.given_up


class Speech:
    """The Speech resource: ``quota`` concurrent sessions, and ``fast_per_min`` fast requests in any minute; a
    start or request past either is refused, never queued."""

    def __init__(
        self, quota: int, outage: tuple[float, float] | None = None, fast_per_min: int = 600, batch_per_10s: int = 100
    ) -> None:
        self.quota = quota
        self.outage = outage
        self.in_use = 0
        self.peak = 0
        self.fast_per_min = fast_per_min
        self.fast_admitted: deque[float] = deque()  # when each fast request of the last minute was let in
        self.fast_requests = 0
        self.fast_peak_per_min = 0
        self.batch_per_10s = batch_per_10s
        self.batch_admitted: deque[float] = deque()  # every batch request of the last 10 s
        self.batch_requests = 0
        self.batch_peak_per_10s = 0

    def try_fast(self, now: float) -> bool:
        """Admit a fast request if fewer than ``fast_per_min`` came in the last 60 s (the service's window)."""
        while self.fast_admitted and self.fast_admitted[0] <= now - 60.0:
            self.fast_admitted.popleft()
        if len(self.fast_admitted) >= self.fast_per_min:
            return False
        self.fast_admitted.append(now)
        self.fast_requests += 1
        self.fast_peak_per_min = max(self.fast_peak_per_min, len(self.fast_admitted))
        return True

    def try_batch(self, now: float, requests: int = 1) -> bool:
        """Admit ``requests`` batch requests at once if they fit the last 10 s's ``batch_per_10s``."""
        while self.batch_admitted and self.batch_admitted[0] <= now - 10.0:
            self.batch_admitted.popleft()
        if len(self.batch_admitted) + requests > self.batch_per_10s:
            return False
        self.batch_admitted.extend([now] * requests)
        self.batch_requests += requests
        self.batch_peak_per_10s = max(self.batch_peak_per_10s, len(self.batch_admitted))
        return True

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


def is_due(rec: Recording, now: float) -> bool:
    """``shared.recordings.sweep.is_due``: ``sweep_delay_seconds(attempt)`` has passed since the last try, or since
    the upload when there is no error record (``attempt`` 0)."""
    last = rec.uploaded_at if rec.last_attempt_at is None else rec.last_attempt_at
    return now >= last + retry_policy.sweep_delay_seconds(rec.attempt)


class Listing:
    """What a sweep run's listing of the two containers shows (``shared.recordings.pending``).

    Every uploaded recording without a transcript and without a permanent error record, in name order
    (ASSUMPTION: names sort in upload order). The listing cannot see leases, so recordings being
    transcribed are in it; the door skips them. Transcribed ones leave it for good.
    """

    def __init__(self) -> None:
        self._open: dict[int, Recording] = {}

    def add(self, rec: Recording) -> None:
        self._open[rec.index] = rec

    def pending(self) -> list[Recording]:
        for index in [index for index, rec in self._open.items() if rec.state == DONE]:
            del self._open[index]
        waiting = (GIVEN_UP, SUBMITTED)  # a submitted one is not pending (``shared.recordings.pending``)
        return sorted((rec for rec in self._open.values() if rec.state not in waiting), key=attrgetter("index"))
