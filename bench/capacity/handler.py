"""One transcription attempt, as both doors (the host's delivery, the sweep) run it.

The product runs one handler for both, so the model does too: claim, start a Speech session
(retrying a refused start inside the invocation with ``retry_policy.start_retry_delay`` until
``SPEECH_START_RETRY_SECONDS`` would be exceeded), run the session, then write the transcript or the
error record and let the lease go. What happens to the event afterwards is the door's business.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.capacity.assumptions import Assumptions
from bench.capacity.engine import (
    CLAIMED,
    DONE,
    FAULT,
    KILLED,
    PENDING,
    SUCCEEDED,
    THROTTLED,
    Backlog,
    Loop,
    Recording,
    Speech,
    Stats,
)
from shared import retry_policy

OnEnd = Callable[[str], None]


class Handler:
    """Runs attempts against one Speech resource and keeps each recording's record up to date."""

    def __init__(self, loop: Loop, speech: Speech, backlog: Backlog, stats: Stats, assumptions: Assumptions,
                 speed: float, rng: random.Random) -> None:
        self.loop, self.speech, self.backlog, self.stats = loop, speech, backlog, stats
        self.a = assumptions
        self.speed = speed
        self.rng = rng

    def attempt(self, rec: Recording, door: str, kill_at: float, on_end: OnEnd) -> None:
        """Claim ``rec`` (the caller checked it is PENDING) and try it now; ``on_end(outcome)`` after."""
        rec.state = CLAIMED
        self._try(rec, door, self.loop.now, 0, kill_at, on_end)

    def _try(self, rec: Recording, door: str, began: float, retry: int, kill_at: float, on_end: OnEnd) -> None:
        now = self.loop.now
        outage = self.speech.down(now)
        if not outage and self.speech.try_open():
            self.stats.waiting_s += now - began
            self._run_session(rec, door, kill_at, on_end)
            return
        if outage:
            self.stats.outage_refusals += 1
        elif door == "host":
            self.stats.refused_host += 1
        else:
            self.stats.refused_sweep += 1
        refused_at = now + self.a.try_cost_s
        retry_at = refused_at + retry_policy.start_retry_delay(retry, self.rng)
        if retry_at - began <= self.a.start_budget_s:
            ends_at, outcome = retry_at, None  # within budget: try again, unless the host kills it first
        else:
            # Budget spent: a quota refusal is a capacity wait (THROTTLED), an outage is a fault.
            ends_at, outcome = refused_at, FAULT if outage else THROTTLED
        if ends_at >= kill_at:
            ends_at, outcome = kill_at, KILLED
        if outcome is None:
            self.loop.at(retry_at, self._try, rec, door, began, retry + 1, kill_at, on_end)
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
        self.loop.at(end, self._close, rec, door, outcome, on_end)

    def _close(self, rec: Recording, door: str, outcome: str, on_end: OnEnd) -> None:
        self.speech.close()
        self._finish(rec, door, outcome, on_end)

    def _finish(self, rec: Recording, door: str, outcome: str, on_end: OnEnd) -> None:
        """Write what the handler writes, release the lease, then tell the door."""
        now = self.loop.now
        if outcome == SUCCEEDED:
            rec.state, rec.done_at, rec.done_by = DONE, now, door
            self.stats.done += 1
            self.stats.done_by_sweep += door == "sweep"
        else:
            if outcome == KILLED:
                self.stats.killed += 1  # a killed worker writes nothing; its lease lapses
            else:
                rec.attempt += 1
                rec.faults += outcome == FAULT
                rec.last_attempt_at = now
            rec.state = PENDING
            self.backlog.push(rec)
        on_end(outcome)
