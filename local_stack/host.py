"""A stand-in for the Functions host's blob-trigger delivery, for tests and benchmarks of many recordings.

What the host does with Event Grid blob events, reproduced: up to ``parallel`` invocations run at once
on threads of one process (as the Python worker runs sync functions); a failed invocation is delivered
again at once (the queue's visibility timeout is 0), up to ``MAX_DELIVERIES`` deliveries in all, after
which the event is *poisoned*: recorded and never run again. ``invoke(name)`` is one delivery: the
tests call the app's own blob function with the ``BlobClient`` the worker would build, the benchmarks
the blob door directly.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.retry_policy import MAX_DELIVERIES


@dataclass
class Delivered:
    """What happened to the events: deliveries per blob, and the blobs whose events were poisoned."""

    deliveries: Counter = field(default_factory=Counter)
    poisoned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def deliver_all(names: list[str], invoke: Callable[[str], object], *, parallel: int) -> Delivered:
    """Deliver one event per name as the host would, and return when every one is done or poisoned."""
    events: queue.Queue[str] = queue.Queue()
    for name in names:
        events.put(name)
    done = Delivered()
    lock = threading.Lock()
    in_flight = 0  # deliveries running now: one of them may still put its event back

    def next_event() -> str | None:
        """The next event to deliver; ``None`` once none is queued and none can come back."""
        nonlocal in_flight
        while True:
            try:
                name = events.get(timeout=0.05)
            except queue.Empty:
                with lock:
                    if in_flight == 0 and events.empty():
                        return None
                continue
            with lock:
                in_flight += 1
                done.deliveries[name] += 1
            return name

    def worker() -> None:
        nonlocal in_flight
        while (name := next_event()) is not None:
            delivery = done.deliveries[name]
            try:
                invoke(name)
            except Exception as exc:  # noqa: BLE001 - a failed invocation: the host delivers it again
                with lock:
                    done.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    if delivery >= MAX_DELIVERIES:
                        done.poisoned.append(name)
                    else:
                        events.put(name)  # before this delivery stops counting as in flight
            finally:
                with lock:
                    in_flight -= 1

    threads = [threading.Thread(target=worker, name=f"host-{i}") for i in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done
