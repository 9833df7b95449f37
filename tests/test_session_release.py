"""Two sessions closing at once drop their Speech SDK objects one after the other, never at the same moment
(the SDK's native side crashed on simultaneous releases; docs/testing.md), and a release stuck in the SDK does
not hold the next one for longer than the stop timeout."""

from __future__ import annotations

import threading
import time

from shared.speech import session


class Handle:
    """Stands for an SDK object: its release takes a while and is recorded as an interval."""

    def __init__(self, spans: list[tuple[float, float]], seconds: float) -> None:
        self.spans, self.seconds = spans, seconds

    def __del__(self) -> None:
        began = time.monotonic()
        time.sleep(self.seconds)
        self.spans.append((began, time.monotonic()))


def release_at_once(count: int, seconds: float) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    closers = [
        threading.Thread(
            target=session._stop_and_release, args=([Handle(spans, seconds)],), kwargs={"stop": False, "timeout": 5}
        )
        for _ in range(count)
    ]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    return sorted(spans)


def test_releases_on_helper_threads_never_overlap():
    spans = release_at_once(4, 0.05)
    assert len(spans) == 4
    assert all(end <= next_began for (_, end), (next_began, _) in zip(spans, spans[1:], strict=False)), spans


def test_a_stuck_release_holds_the_next_one_only_for_the_stop_timeout(monkeypatch):
    monkeypatch.setattr(session, "STOP_TIMEOUT_SECONDS", 0.2)
    spans: list[tuple[float, float]] = []
    stuck = threading.Thread(target=session._stop_then_drop, args=([Handle(spans, 1.0)], False))
    stuck.start()
    time.sleep(0.05)  # the stuck one holds the lock
    began = time.monotonic()
    session._stop_then_drop([Handle(spans, 0.0)], False)
    assert time.monotonic() - began < 0.8
    stuck.join()
    assert len(spans) == 2
