"""Blob-trigger events delivered as the Functions host delivers them (``../shared`` host-delivery notes).

Up to ``parallel`` invocations at once (``maxDegreeOfParallelism``); a failed invocation is delivered again at
once (the queue's visibility timeout is 0), up to ``threshold`` deliveries in all (``poisonBlobThreshold``),
after which the event is *poisoned*: handed to ``on_poison`` and never run again. The host stand-in delivers
through the runtime; ``deliver_all`` serves the benchmarks that call the blob door directly.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field

from shared.platform.retry_policy import MAX_DELIVERIES

log = logging.getLogger(__name__)


@dataclass
class Delivered:
    """What happened to the events: deliveries per event, the poisoned ones, and each failure's message."""

    deliveries: Counter = field(default_factory=Counter)
    poisoned: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Deliveries:
    """A running delivery queue: ``put`` events, ``wait_idle`` for them to be done or poisoned, ``close``."""

    def __init__(
        self,
        invoke: Callable[[Hashable], object],
        *,
        parallel: int,
        threshold: int = MAX_DELIVERIES,
        on_poison: Callable[[Hashable], None] | None = None,
    ) -> None:
        self.invoke, self.threshold, self.on_poison = invoke, threshold, on_poison
        self.delivered = Delivered()
        self._events: queue.Queue = queue.Queue()
        self._idle = threading.Condition()
        self._busy = 0  # queued or running: a running delivery may still put its event back
        self._threads = [
            threading.Thread(target=self._work, name=f"blob-delivery-{i}", daemon=True) for i in range(parallel)
        ]
        for thread in self._threads:
            thread.start()

    def __enter__(self) -> Deliveries:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def put(self, event: Hashable) -> None:
        with self._idle:
            self._busy += 1
        self._events.put(event)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until every event put so far is done or poisoned; ``False`` if ``timeout`` came first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def close(self, *, drop_pending: bool = False) -> None:
        """Stop the threads once what is queued is delivered, or at once (``drop_pending``, a host going away)."""
        if drop_pending:
            with suppress(queue.Empty):
                while True:
                    self._events.get_nowait()
        for _ in self._threads:
            self._events.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while (event := self._events.get()) is not None:
            with self._idle:
                self.delivered.deliveries[event] += 1
                delivery = self.delivered.deliveries[event]
            try:
                self.invoke(event)
            except Exception as exc:  # noqa: BLE001 - a failed invocation: the host delivers it again
                with self._idle:
                    self.delivered.errors.append(f"{event}: {type(exc).__name__}: {exc}")
                if delivery < self.threshold:
                    self._events.put(event)  # still busy: it stays counted
                    continue
                self._poison(event)
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _poison(self, event: Hashable) -> None:
        with self._idle:
            self.delivered.poisoned.append(event)
        if self.on_poison is not None:
            try:
                self.on_poison(event)
            except Exception:  # noqa: BLE001 - the event is poisoned whether or not it could be reported
                log.exception("%s: poisoned, and the poison message could not be written", event)


def deliver_all(events: Iterable[Hashable], invoke: Callable[[Hashable], object], *, parallel: int) -> Delivered:
    """Deliver one event each as the host would, and return once every one is done or poisoned."""
    with Deliveries(invoke, parallel=parallel) as deliveries:
        for event in events:
            deliveries.put(event)
        deliveries.wait_idle()
    return deliveries.delivered
