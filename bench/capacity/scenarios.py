"""The rows of the report: the product as sized by the rule, then deliberately mis-sized, then stressed.

Each row is a question an operator asks: how long does a burst take at this quota and speed, and
what does getting the size wrong (or an outage) cost? Every row runs the product's defaults
(``Assumptions()``) unless its name says what it changes. A "sized" row is what the infra deploys
for its quota (``sizing.py``: the fleet and ``SWEEP_CONCURRENCY``); a row that names its fleet
(``40 x 4``) sets it by hand and runs the app setting's default ``SWEEP_CONCURRENCY``.

A burst is 10,000 recordings except on F0 (quota 1), where 10,000 recordings of the mix (2,743
audio hours) would need ~114 days of sessions at 1x: far past the horizon and the queue's 7-day
time-to-live, so F0 rows use 100 recordings.

The ``auto`` rows run ``engine=auto``: each recording under 120 minutes is one fast request (no session
held, 600 requests a minute), the longer ones real-time sessions; fast is not on F0. The ``batch`` rows submit
every recording (100 requests per 10 s) and the service finishes it after its documented turnaround (not on F0).
"""

from __future__ import annotations

from dataclasses import replace

from bench.capacity.assumptions import HOUR, Assumptions
from bench.capacity.run import Scenario
from shared.platform.retry_policy import MAX_DELIVERIES

BURST = 10_000
F0_BURST = 100
FAST_NOTE = "engine=auto: under 120 min by fast (15x real time, 600 requests/min), the rest by real-time sessions"
BATCH_NOTE = "engine=batch: at peak 30 min before the service starts, then half the audio's length (documented)"
#: ``--quick``: the same rows with 1/20 of the recordings (a few seconds in all).
QUICK_DIVISOR = 20

SHIPPED = Assumptions()
#: The Consumption plan's documented non-HTTP scale-out rate (one instance per 30 s), as a pessimistic
#: stand-in for Flex's unpublished one.
SLOW_SCALE_OUT = replace(SHIPPED, scale_interval_s=30.0, scale_step=1)
#: ``TRANSCRIPTION_DEADLINE_SECONDS=10800``, the default before it became 4 h 10: at 1x a recording
#: over ~180 min can never finish. The row shows what the longer default buys.
THREE_HOUR_DEADLINE = replace(SHIPPED, session_deadline_s=3 * HOUR)
#: Batch's documented bound: "up to 24 hours to complete" at peak, whatever the audio.
BATCH_WORST = replace(SHIPPED, batch_start_delay_s=24 * HOUR, batch_turnaround=0.0)


def _row(name: str, quota: int, **kwargs) -> Scenario:
    kwargs.setdefault("assumptions", SHIPPED)
    kwargs.setdefault("recordings", BURST)
    return Scenario(name, quota, **kwargs)


def scenarios(quick: bool = False) -> list[Scenario]:
    """The report's rows; ``quick``: the same rows with 1/20 of the recordings."""
    rows = [
        _row("S0 100, sized, 1x", 100),
        _row("S0 100, sized, 2x", 100, speed=2.0),
        _row("1000, sized, 1x", 1000),
        _row("1000, sized, 2x", 1000, speed=2.0),
        _row(
            "1000, sized, 2x, slow scale-out", 1000, speed=2.0, assumptions=SLOW_SCALE_OUT, note="+1 instance per 30 s"
        ),
        _row("10, sized, 1x", 10, note="the burst outlasts the queue's 7-day TTL"),
        _row(
            "10, 2 x 4, 1x, sweep 9",
            10,
            instances=2,
            per_instance=4,
            sweep_concurrency=9,
            note="the sized fleet with SWEEP_CONCURRENCY=9 set by hand (the sizing sets 2)",
        ),
        _row("F0 1, sized, 1x", 1, recordings=F0_BURST, note="1 instance x 1 + the sweep's 1: 2 > 1"),
        _row("F0 1, 40 x 4, 1x", 1, recordings=F0_BURST, instances=40, per_instance=4, note="mis-sized"),
        _row(
            "F0 1, 1000 x 4, 1x",
            1,
            recordings=F0_BURST,
            instances=1000,
            per_instance=4,
            note="mis-sized; = 40 x 4: 100 recordings never need > 25 instances",
        ),
        _row(
            "S0 100, 40 x 4, 1x",
            100,
            instances=40,
            per_instance=4,
            note="mis-sized: the infra's maximumInstanceCount before it was sized from the quota",
        ),
        _row("S0 100, 1000 x 4, 1x", 100, instances=1000, per_instance=4, note="mis-sized"),
        _row(
            "S0 100, 40 x 4, 1x, sweep 24",
            100,
            instances=40,
            per_instance=4,
            sweep_concurrency=24,
            note="mis-sized, SWEEP_CONCURRENCY=24",
        ),
        _row(
            "S0 100, sized, 1x, 3 h deadline",
            100,
            assumptions=THREE_HOUR_DEADLINE,
            note="TRANSCRIPTION_DEADLINE_SECONDS=10800 (the earlier default)",
        ),
        _row(
            "S0 100, sized, 1x, 1 h outage", 100, outage=(2 * HOUR, 3 * HOUR), note="every start fails from 2 h to 3 h"
        ),
        _row("S0 100, sized, 1x, 200 rec.", 100, recordings=200, note="the next row without its outage"),
        _row(
            "S0 100, sized, 1x, 200 rec., 1 h outage",
            100,
            recordings=200,
            outage=(0.0, HOUR),
            note=f"a short backlog: the outage outlasts all {MAX_DELIVERIES} deliveries of every event",
        ),
        _row(
            "S0 100, 24 x 4, 1x, 200 rec., 1 h outage, sweep 96",
            100,
            recordings=200,
            outage=(0.0, HOUR),
            instances=24,
            per_instance=4,
            sweep_concurrency=96,
            note="the row above with SWEEP_CONCURRENCY=96 set by hand (the idle fleet's share)",
        ),
        _row("S0 100, sized, auto (fast 15x), 1x", 100, engine="auto", note=FAST_NOTE),
        _row("S0 100, sized, auto (fast 15x), 2x", 100, engine="auto", speed=2.0, note="real-time at 2x"),
        _row(
            "S0 100, 250 x 4, auto (fast 15x), 1x",
            100,
            engine="auto",
            instances=250,
            per_instance=4,
            note="a fleet of 1000 invocations: about what 600 requests/min keep busy",
        ),
        _row(
            "S0 100, 1000 x 4, auto (fast 15x), 1x",
            100,
            engine="auto",
            instances=1000,
            per_instance=4,
            note="4000 invocations: past the 600 requests/min",
        ),
    ]
    rows += [
        _row("S0 100, sized, batch, 1x", 100, engine="batch", note=BATCH_NOTE),
        _row(
            "S0 100, sized, batch, 24 h each",
            100,
            engine="batch",
            assumptions=BATCH_WORST,
            note="engine=batch: every transcription takes the documented 24 h at peak",
        ),
    ]
    if quick:
        rows = [replace(row, recordings=max(5, row.recordings // QUICK_DIVISOR)) for row in rows]
    return rows
