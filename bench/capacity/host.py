"""The host's door: Event Grid, the blob trigger group's queue, its Flex instances and their deliveries.

As documented (../shared/notes/host-delivery.md, Microsoft Learn): Event Grid delivers each
``BlobCreated`` at least once; the blob extension puts it on the host's internal storage queue; the
Event Grid blob triggers of an app scale as one group, at most ``maximumInstanceCount`` instances of
``maxDegreeOfParallelism`` invocations each. A failed invocation's message becomes visible again at
once (visibility timeout 0) and is delivered again, up to ``poisonBlobThreshold`` dequeues; a message
older than the queue's time-to-live is gone.

The door (``shared.recordings.door``) decides what a failure does to the message from the recording's error
record, not from the message: it raises (the host delivers again) while the record counts fewer than
``MAX_DELIVERIES`` tries by events, across all of the recording's events, and records and returns
after that, so the message is done and the recording is the sweep's. A delivery for a recording
someone holds (or that is transcribed) returns at once: the message is done too. So only an invocation
killed past ``functionTimeout``, which writes nothing, can use up a message's dequeues and poison it.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from bench.capacity.assumptions import Assumptions
from bench.capacity.engine import CLAIMED, DONE, HOST, KILLED, SUBMITTED, SUCCEEDED, Loop, Recording, Stats
from bench.capacity.handler import Handler


@dataclass(eq=False, slots=True)
class Message:
    """One event on the host's queue; ``dequeues`` is the host's delivery count for it."""

    rec: Recording
    enqueued_at: float
    dequeues: int = 0


class BlobTriggerGroup:
    """The Event Grid blob trigger's scale group: queue, instances, invocations."""

    def __init__(
        self,
        loop: Loop,
        handler: Handler,
        stats: Stats,
        assumptions: Assumptions,
        max_instances: int,
        per_instance: int,
        rng: random.Random,
    ) -> None:
        self.loop, self.handler, self.stats, self.a = loop, handler, stats, assumptions
        self.max_instances = max_instances
        self.per_instance = per_instance
        self.rng = rng
        self.queue: deque[Message] = deque()
        self.ready = 0
        self.starting = 0
        self.running = 0
        self._scaling = False

    # --- Event Grid ---

    def upload(self, rec: Recording) -> None:
        """A blob was created: its event arrives once, twice, or (rarely) never."""
        roll = self.rng.random()
        if roll < self.a.event_loss:
            self.stats.events_lost += 1
            return
        low, high = self.a.event_latency_s
        self.loop.after(self.rng.uniform(low, high), self._arrive, rec)
        if roll < self.a.event_loss + self.a.event_duplicate:
            self.stats.events_duplicated += 1
            self.loop.after(self.rng.uniform(low, self.a.duplicate_delay_s), self._arrive, rec)

    def _arrive(self, rec: Recording) -> None:
        rec.events += 1
        self.queue.append(Message(rec, self.loop.now))
        self._wake()
        self._dispatch()

    # --- the queue and the invocations ---

    def _dispatch(self) -> None:
        queue = self.queue
        while queue and self.running < self.ready * self.per_instance:
            msg = queue.popleft()
            if self.loop.now - msg.enqueued_at > self.a.queue_ttl_s:
                self.stats.events_expired += 1  # the storage queue deleted it: a lost event
                continue
            self._invoke(msg)

    def _invoke(self, msg: Message) -> None:
        now = self.loop.now
        self.running += 1
        msg.dequeues += 1
        msg.rec.deliveries += 1
        self.stats.deliveries += 1
        if msg.rec.state in (CLAIMED, SUBMITTED, DONE):
            # Transcribed, or another worker holds the lease: the door returns, the message is done.
            self.stats.skipped += 1
            self.loop.after(self.a.skip_s, self._complete, now)
            return
        kill_at = now + self.a.function_timeout_s
        self.handler.attempt(msg.rec, HOST, kill_at, lambda outcome: self._ended(msg, now, outcome))

    def _ended(self, msg: Message, started: float, outcome: str) -> None:
        rec = msg.rec
        if outcome == SUCCEEDED:
            pass
        elif outcome != KILLED and rec.event_tries >= self.a.max_deliveries:
            self.stats.handed_to_sweep += 1  # the door's last delivery: recorded and returned
        elif msg.dequeues < self.a.poison_threshold:
            rec.raised += outcome != KILLED
            self.queue.append(msg)  # visible again at once, behind what is already queued
        else:
            rec.raised += outcome != KILLED
            self.stats.poisoned += 1  # out of dequeues: the host moves the message to the poison queue
        self._complete(started)

    def _complete(self, started: float) -> None:
        self.running -= 1
        self.stats.function_s += self.loop.now - started
        self._dispatch()

    # --- the scale controller ---

    def _wake(self) -> None:
        if not self._scaling:
            self._scaling = True
            self._scale()

    def _scale(self) -> None:
        """Move toward ceil(demand / per_instance) instances at a bounded rate; sleep when idle.

        Scale-in never removes an instance a running invocation needs (Flex drains instances).
        """
        demand = len(self.queue) + self.running
        target = min(self.max_instances, math.ceil(demand / self.per_instance))
        have = self.ready + self.starting
        if target > have:
            add = min(self.a.scale_step, target - have)
            self.starting += add
            self.loop.after(self.a.cold_start_s, self._instances_ready, add)
        elif target < self.ready:
            needed = math.ceil(self.running / self.per_instance)
            self.ready = max(target, needed, self.ready - self.a.scale_step)
        if demand == 0 and self.ready == 0 and self.starting == 0:
            self._scaling = False
            return
        self.loop.after(self.a.scale_interval_s, self._scale)

    def _instances_ready(self, count: int) -> None:
        self.starting -= count
        self.ready += count
        self.stats.peak_instances = max(self.stats.peak_instances, self.ready)
        self._dispatch()
