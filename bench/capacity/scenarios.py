"""The rows of the report: the product as sized by the rule, then deliberately mis-sized, then stressed.

Each row is a question an operator asks: how long does a burst take at this quota and speed, and
what does getting the size wrong (or an outage) cost? A burst is 10,000 recordings except on F0
(quota 1), where 10,000 recordings of the mix (2,743 audio hours) would need ~114 days of sessions
at 1x: far past the horizon and the queue's 7-day time-to-live, so F0 rows use 100 recordings.
"""

from __future__ import annotations

from dataclasses import replace

from bench.capacity.assumptions import HOUR, MINUTE, Assumptions
from bench.capacity.run import Scenario

BURST = 10_000
F0_BURST = 100
#: ``--quick``: the same rows with 1/20 of the recordings (a few seconds in all).
QUICK_DIVISOR = 20

SHIPPED = Assumptions()
#: Every row but the first: a session deadline that covers the longest accepted recording at 1x
#: (240 min + overhead) and still keeps an invocation (up to 300 s of refused starts + the session)
#: inside functionTimeout (4 h 30). As shipped (3 h), a recording over ~180 min can never finish at 1x,
#: and its retries hide every other effect; at 2x the longest session is 2 h and the two are the same.
FIXED = replace(SHIPPED, session_deadline_s=4 * HOUR + 15 * MINUTE)
#: The Consumption plan's documented non-HTTP scale-out rate (one instance per 30 s), as a pessimistic
#: stand-in for Flex's unpublished one.
SLOW_SCALE_OUT = replace(FIXED, scale_interval_s=30.0, scale_step=1)


def _row(name: str, quota: int, **kwargs) -> Scenario:
    kwargs.setdefault("assumptions", FIXED)
    kwargs.setdefault("recordings", BURST)
    return Scenario(name, quota, **kwargs)


def scenarios(quick: bool = False) -> list[Scenario]:
    """The report's rows; ``quick``: the same rows with 1/20 of the recordings."""
    rows = [
        _row("S0 100, sized, 1x, as shipped", 100, assumptions=SHIPPED,
                 note="TRANSCRIPTION_DEADLINE_SECONDS 3 h (as shipped)"),
        _row("S0 100, sized, 1x", 100),
        _row("S0 100, sized, 2x", 100, speed=2.0),
        _row("1000, sized, 1x", 1000),
        _row("1000, sized, 2x", 1000, speed=2.0),
        _row("1000, sized, 2x, slow scale-out", 1000, speed=2.0, assumptions=SLOW_SCALE_OUT,
                 note="+1 instance per 30 s"),
        _row("10, sized, 1x", 10, note="the burst outlasts the queue's 7-day TTL"),
        _row("F0 1, sized, 1x", 1, recordings=F0_BURST, note="1 instance x 1 + the sweep: 2 > 1"),
        _row("F0 1, 40 x 4, 1x", 1, recordings=F0_BURST, instances=40, per_instance=4, note="mis-sized"),
        _row("F0 1, 1000 x 4, 1x", 1, recordings=F0_BURST, instances=1000, per_instance=4,
                 note="mis-sized; = 40 x 4: 100 recordings never need > 25 instances"),
        _row("S0 100, 40 x 4, 1x", 100, instances=40, per_instance=4,
                 note="mis-sized: the infra's default maximumInstanceCount"),
        _row("S0 100, 1000 x 4, 1x", 100, instances=1000, per_instance=4, note="mis-sized"),
        _row("S0 100, 40 x 4, 1x, sweep 24", 100, instances=40, per_instance=4, sweep_concurrency=24,
                 note="mis-sized, SWEEP_CONCURRENCY=24"),
        _row("S0 100, sized, 1x, 1 h outage", 100, outage=(2 * HOUR, 3 * HOUR),
                 note="every start fails from 2 h to 3 h"),
        _row("S0 100, sized, 1x, 200 rec., 1 h outage", 100, recordings=200, outage=(0.0, HOUR),
             note="a short backlog: the outage outlasts all 5 deliveries of every event"),
    ]
    if quick:
        rows = [replace(row, recordings=max(5, row.recordings // QUICK_DIVISOR)) for row in rows]
    return rows
