"""A timer trigger's host side: invocations on its NCRONTAB schedule (six fields, second first; ``%SETTING%``
resolved), one at a time, with the host's timer payload. ``run_now`` is the admin endpoint's manual run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from croniter import croniter

from local_stack.functions_host.channel import WorkerError
from local_stack.functions_host.functions import IndexedFunction, resolve
from local_stack.functions_host.invocations import Invoker

log = logging.getLogger("functions_host")


class TimerTrigger:
    def __init__(self, function: IndexedFunction, invoker: Invoker, settings: Mapping[str, str]) -> None:
        self.function, self.invoker = function, invoker
        self.schedule = resolve(function.trigger["schedule"], settings)
        self.last: datetime | None = None
        self._running = threading.Lock()  # never two runs of one timer at once, as the host's singleton lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name=f"timer-{function.name}", daemon=True)

    def next_run(self, after: datetime) -> datetime:
        return croniter(self.schedule, after, second_at_beginning=True).get_next(datetime)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def run_now(self) -> bool:
        """One invocation now; ``False`` (and nothing run) when a run is still going."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            now = datetime.now(UTC)
            self.invoker.timer(self.function, self.last, self.next_run(now))
            self.last = now
            return True
        finally:
            self._running.release()

    def _tick(self) -> None:
        due = self.next_run(datetime.now(UTC))
        while not self._stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
            try:
                self.run_now()
            except WorkerError as error:
                log.error("timer %s: the invocation failed: %s", self.function.name, error)
            due = self.next_run(datetime.now(UTC))
