"""Invariants of the capacity model (bench/capacity), on small bursts that run in well under a second.

Each test is a property the model could get wrong and the docs rely on: sessions are refused, never
oversubscribed; a host message is delivered at most ``MAX_DELIVERIES`` times; a deployment sized by
``deployment_for_quota`` never sees a refused start; a mis-sized one does, and still finishes; what the
host loses (events never sent, expired, exhausted) the sweep finishes; a run is a function of its seed.
Figures (how long, how costly) are bench output, not asserted here.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.capacity import report
from bench.capacity.assumptions import HOUR, MAX_PER_INSTANCE, Assumptions
from bench.capacity.engine import DONE, GIVEN_UP
from bench.capacity.run import Run, Scenario, simulate, summarize
from bench.capacity.scenarios import scenarios
from bench.capacity.sizing import deployment_for_quota
from shared import retry_policy

#: Twice real time: no recording of the mix runs into the session deadline, so each test sees one effect.
SPEED = 2.0


def burst(name: str, quota: int, recordings: int = 120, **kwargs) -> Run:
    kwargs.setdefault("speed", SPEED)
    run = simulate(Scenario(name, quota, recordings=recordings, **kwargs))
    assert_invariants(run)
    return run


def assert_invariants(run: Run) -> None:
    """What must hold in every run, whatever the scenario."""
    assert run.peak_sessions <= run.scenario.quota, "a session was started past the quota"
    limit = run.scenario.assumptions.max_deliveries
    for rec in run.recordings:
        assert rec.deliveries <= limit * rec.events, (rec.index, rec.deliveries, rec.events)
        assert rec.state in (DONE, GIVEN_UP) or run.end_s >= run.scenario.assumptions.horizon_s


@pytest.mark.parametrize("sweep", [0, 1, 2, 10])
def test_sizing_keeps_a_full_scale_out_within_the_quota(sweep):
    for quota in range(1, 1001):
        fleet = deployment_for_quota(quota, sweep)
        assert 1 <= fleet.instances <= 1000 and 1 <= fleet.per_instance <= MAX_PER_INSTANCE, (quota, fleet)
        assert fleet.concurrency <= quota, (quota, fleet)
        if quota > sweep:
            assert fleet.concurrency + sweep <= quota, (quota, fleet)
            # ... and uses the quota: less than one instance's worth left over, unless Flex's cap binds
            assert fleet.instances == 1000 or quota - sweep - fleet.concurrency < fleet.per_instance, (quota, fleet)


def test_sizing_is_the_stated_formula_once_an_instance_fits_beside_the_sweep():
    """The infra derives its numbers from the same rule: c = min(4, quota), (quota - sweep) // c in 1..1000."""
    for quota in range(1 + MAX_PER_INSTANCE, 1001):
        per_instance = min(MAX_PER_INSTANCE, quota)
        assert deployment_for_quota(quota, 1) == (max(1, min(1000, (quota - 1) // per_instance)), per_instance)
    assert deployment_for_quota(100) == (24, 4) and deployment_for_quota(1000) == (249, 4)
    assert deployment_for_quota(1) == (1, 1)  # nothing fits beside the sweep: Flex's least fleet


@pytest.mark.parametrize("quota", [2, 5, 12, 40])
def test_a_sized_deployment_never_sees_a_refused_start(quota):
    run = burst("sized", quota)
    stats = run.stats
    assert stats.refused_host == stats.refused_sweep == stats.waiting_s == 0
    assert stats.done == len(run.recordings) and stats.given_up == 0


@pytest.mark.parametrize(("quota", "instances"), [(1, 40), (1, 1000), (5, 10)])
def test_a_mis_sized_deployment_is_refused_but_finishes(quota, instances):
    run = burst("mis-sized", quota, recordings=40, instances=instances, per_instance=4)
    stats = run.stats
    assert stats.refused_host > 0 and stats.waiting_s > 0
    assert run.peak_sessions == quota  # saturated, never above
    assert stats.done == len(run.recordings) and stats.given_up == 0
    # some events ran out of deliveries, and the sweep finished what they left
    assert any(rec.deliveries == retry_policy.MAX_DELIVERIES for rec in run.recordings)
    assert stats.handed_to_sweep > 0 and stats.done_by_sweep > 0


def test_throttled_attempts_are_capacity_waits_that_never_give_a_recording_up():
    a = dataclasses.replace(Assumptions(), blip_probability=0.0, sweep_max_attempts=3)
    run = burst("throttled", 1, recordings=30, instances=40, per_instance=4, assumptions=a)
    assert max(rec.attempt for rec in run.recordings) > a.sweep_max_attempts  # many throttled attempts ...
    assert run.stats.given_up == 0 and run.stats.done == len(run.recordings)  # ... and none counted


def test_the_sweep_finishes_a_burst_whose_events_were_all_lost():
    a = dataclasses.replace(Assumptions(), event_loss=1.0)
    run = burst("no events", 12, recordings=30, assumptions=a)
    assert run.stats.deliveries == 0
    assert run.stats.done == run.stats.done_by_sweep == len(run.recordings)


def test_expired_host_messages_are_lost_events_the_sweep_finishes():
    a = dataclasses.replace(Assumptions(), queue_ttl_s=1800.0)
    run = burst("short ttl", 3, recordings=40, assumptions=a)
    assert run.stats.events_expired > 0
    assert run.stats.done == len(run.recordings)


def test_an_outage_costs_waiting_not_recordings():
    run = burst("outage", 12, recordings=60, outage=(0.5 * HOUR, 1.5 * HOUR))
    assert run.stats.outage_refusals > 0 and run.stats.refused_host == 0
    assert run.stats.done == len(run.recordings)


def test_a_session_deadline_shorter_than_the_recording_gives_it_up_after_the_sweeps_attempts():
    """At 1x a 30-minute deadline fails every meeting every time: given up, counted, never left hanging."""
    a = dataclasses.replace(Assumptions(), session_deadline_s=1800.0)
    run = burst("deadline", 12, recordings=30, speed=1.0, assumptions=a)
    doomed = [rec for rec in run.recordings if rec.seconds + a.session_overhead_s > a.session_deadline_s]
    assert doomed and run.stats.given_up == len(doomed)
    assert all(rec.state == GIVEN_UP and rec.faults >= a.sweep_max_attempts for rec in doomed)
    assert run.stats.done == len(run.recordings) - len(doomed)


def test_an_invocation_past_the_function_timeout_is_killed_poisoned_and_reported_left():
    """A killed worker writes no error record, so nothing ever gives up on it: the model must say so."""
    a = dataclasses.replace(Assumptions(), function_timeout_s=1200.0, horizon_s=12 * HOUR)
    run = burst("timeout", 12, recordings=30, speed=1.0, assumptions=a)
    too_long = [rec for rec in run.recordings if rec.seconds + a.session_overhead_s > 1200.0]
    assert too_long and run.stats.killed > 0 and run.stats.poisoned > 0
    assert run.stats.given_up == 0
    assert {rec.index for rec in run.recordings if rec.state != DONE} == {rec.index for rec in too_long}


def test_a_run_is_a_function_of_its_seed():
    first, again = (summarize(burst("seeded", 3, recordings=40, instances=5, per_instance=4)) for _ in range(2))
    other = summarize(burst("seeded", 3, recordings=40, instances=5, per_instance=4, seed=19))
    assert first == again
    assert other != first


def test_the_report_saves_its_table_json_and_plot(tmp_path):
    rows = [row for row in scenarios(quick=True) if row.name in ("S0 100, sized, 2x", "F0 1, 40 x 4, 1x")]
    saved = report.run(rows, quick=True, out=tmp_path, echo=lambda _line: None)
    assert [row["name"] for row in saved["scenarios"]] == ["S0 100, sized, 2x", "F0 1, 40 x 4, 1x"]
    assert json.loads((tmp_path / "capacity.json").read_text())["scenarios"][1]["left"] == 0
    assert (tmp_path / "capacity.png").read_bytes().startswith(b"\x89PNG")
    assert "| F0 1, 40 x 4, 1x |" in report.table(saved)
