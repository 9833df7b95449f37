"""Invariants of the capacity model (bench/capacity), on small bursts that run in well under a second.

Each test is a property the model could get wrong and the docs rely on: it runs on the code's own
numbers and rules (the sweep's due rule, run budget and give-up count, the door's last delivery, the
start retries, the claims); sessions are refused, never oversubscribed; a host message is dequeued at
most ``poisonBlobThreshold`` times; a deployment sized as the infra sizes it (``sizing.py``) never sees
a refused start; a mis-sized one does, and still finishes; what the host loses (events never sent,
expired, exhausted) the sweep finishes; a run is a function of its seed. Figures (how long, how
costly) are bench output, not asserted here.
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from bench.capacity import report
from bench.capacity.assumptions import (
    DEFAULT_SWEEP_CONCURRENCY,
    HOUR,
    MAX_PER_INSTANCE,
    POISON_THRESHOLD,
    Assumptions,
    schedule_period_s,
)
from bench.capacity.engine import DONE, GIVEN_UP, HOST, THROTTLED, Listing, Loop, Recording, Speech, Stats, is_due
from bench.capacity.handler import Handler
from bench.capacity.run import Run, Scenario, simulate, summarize
from bench.capacity.scenarios import scenarios
from bench.capacity.sizing import deployment_for_quota, sweep_concurrency_for_quota
from bench.capacity.sweep import Sweep
from shared.engines import FAST_MAX_SECONDS
from shared.platform import retry_policy
from shared.platform.retry_policy import SWEEP_RUN_SECONDS
from shared.recordings import pending
from shared.recordings.claims import LEASE_SECONDS
from shared.recordings.sweep import is_due as product_is_due
from shared.settings import Settings

#: Twice real time: no recording of the mix runs into the session deadline, so each test sees one effect.
SPEED = 2.0


def burst(name: str, quota: int, recordings: int = 120, **kwargs) -> Run:
    kwargs.setdefault("speed", SPEED)
    run = simulate(Scenario(name, quota, recordings=recordings, **kwargs))
    assert_invariants(run)
    return run


def assert_invariants(run: Run) -> None:
    """What must hold in every run, whatever the scenario."""
    a = run.scenario.assumptions
    assert run.peak_sessions <= run.scenario.quota, "a session was started past the quota"
    for rec in run.recordings:
        assert rec.deliveries <= a.poison_threshold * rec.events, (rec.index, rec.deliveries, rec.events)
        # the door raises only while the record counts fewer tries by events than MAX_DELIVERIES
        assert rec.raised < a.max_deliveries, (rec.index, rec.raised)
        assert rec.state in (DONE, GIVEN_UP) or run.end_s >= a.horizon_s


def test_the_model_runs_on_the_codes_own_numbers():
    a = Assumptions()
    assert a.start_budget_s == Settings.speech_start_retry_seconds
    assert a.session_deadline_s == Settings.transcription_deadline_seconds
    assert a.max_audio_s == Settings.max_audio_minutes * 60
    assert a.max_attempts == Settings.max_attempts
    assert a.sweep_run_budget_s == SWEEP_RUN_SECONDS
    assert a.sweep_period_s == schedule_period_s(Settings.sweep_schedule)
    assert a.lease_s == LEASE_SECONDS
    assert a.max_deliveries == retry_policy.MAX_DELIVERIES
    assert a.poison_threshold == POISON_THRESHOLD
    assert a.fast_max_s == FAST_MAX_SECONDS
    assert Settings.sweep_concurrency == DEFAULT_SWEEP_CONCURRENCY
    assert schedule_period_s("0 */7 * * * *") == 7 * 60
    with pytest.raises(ValueError):
        schedule_period_s("0 0 * * * *")


def test_a_sized_deployment_runs_the_sweep_concurrency_the_infra_sets():
    """Sized: ``sweep_concurrency_for_quota`` (what main.bicep puts in SWEEP_CONCURRENCY); by hand: the default."""
    for quota in (1, 9, 10, 35, 100, 1000):
        sweep = sweep_concurrency_for_quota(quota)
        sized = Scenario("sized", quota)
        assert sized.sweep() == sweep
        assert sized.deployment() == deployment_for_quota(quota, sweep)
        assert Scenario("by hand", quota, instances=40, per_instance=4).sweep() == Settings.sweep_concurrency
    for row in scenarios():
        if row.sweep_concurrency is None:
            expected = sweep_concurrency_for_quota(row.quota) if row.sized else Settings.sweep_concurrency
            assert row.sweep() == expected, row.name
        assert row.sized == ("sized" in row.name), row.name


@pytest.mark.parametrize("attempt", [0, 1, 4, 5, 6, 7, 9, 30])
def test_the_sweeps_due_rule_is_the_products(attempt):
    """``is_due`` against ``shared.recordings.sweep.is_due`` on the same record, every 30 s over two hours."""
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    tried_at = 100.0
    rec = Recording(
        0, 60.0, uploaded_at=0.0, kind="test", attempt=attempt, last_attempt_at=tried_at if attempt else None
    )
    error = pending.LastError("service_error", True, attempt, attempt, epoch + timedelta(seconds=tried_at))
    listed = pending.Recording(
        "a.wav", "etag", epoch, pending.RETRYING if attempt else pending.WAITING, error if attempt else None
    )
    for now in range(0, 7200, 30):
        assert is_due(rec, now) == product_is_due(listed, epoch + timedelta(seconds=now)), now


def test_a_refused_start_is_retried_until_the_budget_is_spent_and_is_no_fault():
    """As ``shared.platform.start_retries.retrying``: the last wait is cut to what is left, then one more try."""
    a = Assumptions()
    loop, stats, speech = Loop(), Stats(), Speech(1)
    speech.in_use = 1  # the quota is full for the whole attempt
    rec = Recording(0, 60.0, uploaded_at=0.0, kind="test")
    ended = []
    Handler(loop, speech, stats, a, 1.0, random.Random(3)).attempt(
        rec, HOST, a.function_timeout_s, lambda outcome: ended.append((loop.now, outcome))
    )
    loop.run(HOUR, lambda: bool(ended))
    ((when, outcome),) = ended
    assert outcome == THROTTLED
    assert a.start_budget_s <= when <= a.start_budget_s + a.try_cost_s
    assert (rec.attempt, rec.event_tries, rec.faults) == (1, 1, 0)


def test_a_sweep_run_takes_due_recordings_in_listing_order_and_starts_none_after_its_budget():
    a = dataclasses.replace(Assumptions(), blip_probability=0.0, session_overhead_s=0.0)
    loop, stats, listing = Loop(), Stats(), Listing()
    handler = Handler(loop, Speech(100), stats, a, 1.0, random.Random(3))
    recs = [Recording(i, 100.0, uploaded_at=0.0, kind="test") for i in range(40)]
    for rec in reversed(recs):
        listing.add(rec)
    recs[0].attempt, recs[0].last_attempt_at = 6, 0.0  # 6 tries: not due until sweep_delay_seconds(6) after
    assert retry_policy.sweep_delay_seconds(6) > a.sweep_period_s
    Sweep(loop, handler, listing, stats, a, concurrency=2).start()
    first_run_ends = a.sweep_period_s + a.sweep_run_budget_s
    loop.run(first_run_ends - 1, lambda: False)
    rounds = int(a.sweep_run_budget_s // 100)  # each worker starts a 100 s session every 100 s
    assert stats.sweep_runs == 1
    assert stats.sweep_attempts == 2 * rounds
    assert [rec.index for rec in recs if rec.state == DONE] == list(range(1, 2 * rounds - 1))
    assert recs[0].state != DONE


@pytest.mark.parametrize("sweep", [0, 1, 2, 10])
def test_sizing_keeps_a_full_scale_out_within_the_quota(sweep):
    for quota in range(1, 1001):
        fleet = deployment_for_quota(quota, sweep)
        assert 1 <= fleet.instances <= 1000, (quota, fleet)
        assert 1 <= fleet.per_instance <= MAX_PER_INSTANCE, (quota, fleet)
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
    assert deployment_for_quota(100) == (24, 4)
    assert deployment_for_quota(1000) == (249, 4)
    assert deployment_for_quota(1) == (1, 1)  # nothing fits beside the sweep: Flex's least fleet
    # as the infra deploys it, with the sweep's share: 24 x 4 + 4 = 100, 249 x 4 + 4 = 1000
    assert deployment_for_quota(100, sweep_concurrency_for_quota(100)) == (24, 4)
    assert deployment_for_quota(1000, sweep_concurrency_for_quota(1000)) == (249, 4)


@pytest.mark.parametrize("quota", [2, 5, 12, 40])
def test_a_sized_deployment_never_sees_a_refused_start(quota):
    run = burst("sized", quota)
    stats = run.stats
    assert stats.refused_host == stats.refused_sweep == stats.waiting_s == 0
    assert stats.done == len(run.recordings)
    assert stats.given_up == 0


@pytest.mark.parametrize(("quota", "instances"), [(1, 40), (1, 1000), (5, 10)])
def test_a_mis_sized_deployment_is_refused_but_finishes(quota, instances):
    run = burst("mis-sized", quota, recordings=40, instances=instances, per_instance=4)
    stats = run.stats
    assert stats.refused_host > 0
    assert stats.waiting_s > 0
    assert run.peak_sessions == quota  # saturated, never above
    assert stats.done == len(run.recordings)
    assert stats.given_up == 0
    # some recordings used all their deliveries (the last recorded, not raised): the sweep finished them
    assert any(rec.event_tries >= retry_policy.MAX_DELIVERIES for rec in run.recordings)
    assert stats.handed_to_sweep > 0
    assert stats.done_by_sweep > 0
    assert stats.poisoned == 0


def test_throttled_attempts_are_capacity_waits_that_never_give_a_recording_up():
    a = dataclasses.replace(Assumptions(), blip_probability=0.0, max_attempts=3)
    run = burst("throttled", 1, recordings=30, instances=40, per_instance=4, assumptions=a)
    assert max(rec.attempt for rec in run.recordings) > a.max_attempts  # many throttled attempts ...
    assert run.stats.given_up == 0
    assert run.stats.done == len(run.recordings)


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
    assert run.stats.outage_refusals > 0
    assert run.stats.refused_host == 0
    assert run.stats.done == len(run.recordings)


def test_a_duplicate_event_gets_no_deliveries_of_its_own():
    """The door counts tries by events on the recording's record, across its events: once it holds
    ``MAX_DELIVERIES`` a second event's failed try is recorded and returned, not raised again."""
    a = dataclasses.replace(Assumptions(), event_duplicate=1.0, duplicate_delay_s=2 * HOUR)
    run = burst("duplicates", 40, recordings=40, outage=(0.0, 4 * HOUR), assumptions=a)
    twice = [rec for rec in run.recordings if rec.events == 2]
    assert twice
    assert max(rec.raised for rec in twice) == retry_policy.MAX_DELIVERIES - 1
    assert any(rec.event_tries > retry_policy.MAX_DELIVERIES for rec in twice)
    assert run.stats.done == len(run.recordings)


def test_a_session_deadline_shorter_than_the_recording_gives_it_up_after_the_sweeps_attempts():
    """At 1x a 30-minute deadline fails every meeting every time: given up, counted, never left hanging."""
    a = dataclasses.replace(Assumptions(), session_deadline_s=1800.0)
    run = burst("deadline", 12, recordings=30, speed=1.0, assumptions=a)
    doomed = [rec for rec in run.recordings if rec.seconds + a.session_overhead_s > a.session_deadline_s]
    assert doomed
    assert run.stats.given_up == len(doomed)
    assert all(rec.state == GIVEN_UP and rec.faults >= a.max_attempts for rec in doomed)
    assert run.stats.done == len(run.recordings) - len(doomed)


def test_an_invocation_past_the_function_timeout_is_killed_and_reported_left():
    """A killed worker writes no error record, so nothing ever gives up on it: the model must say so.

    Its lease lapses ``LEASE_SECONDS`` later; a redelivery before that finds it held and is done.
    """
    a = dataclasses.replace(Assumptions(), function_timeout_s=1200.0, horizon_s=12 * HOUR)
    run = burst("timeout", 12, recordings=30, speed=1.0, assumptions=a)
    too_long = [rec for rec in run.recordings if rec.seconds + a.session_overhead_s > 1200.0]
    assert too_long
    assert run.stats.killed > 0
    assert run.stats.skipped > 0
    assert run.stats.given_up == 0
    assert all(rec.attempt == rec.faults == 0 for rec in too_long)
    assert {rec.index for rec in run.recordings if rec.state != DONE} == {rec.index for rec in too_long}


def test_auto_sends_what_is_under_fasts_limit_to_fast_and_never_passes_its_request_rate():
    """Recordings under 120 min go to fast, the rest to sessions; a minute never admits more than the rate."""
    fast_rate = dataclasses.replace(Assumptions(), fast_requests_per_min=20)
    run = burst("auto", 100, recordings=200, engine="auto", instances=50, per_instance=4, assumptions=fast_rate)
    assert {rec.engine for rec in run.recordings if rec.seconds < FAST_MAX_SECONDS} == {"fast"}
    assert {rec.engine for rec in run.recordings if rec.seconds >= FAST_MAX_SECONDS} <= {"realtime"}
    assert run.fast_peak_per_min == 20  # the rate was reached, never passed
    assert run.stats.refused_host > 0  # refused past it, as a session start past the quota is
    assert run.stats.terminal == len(run.recordings)


def test_batch_holds_no_session_passes_no_request_rate_and_each_recording_takes_the_services_turnaround():
    """Each recording is submitted (100 requests per 10 s, with a finish's three), never holds a session, and is
    done no sooner than the service's turnaround after its upload; a finish past the rate waits for the sweep."""
    tight = dataclasses.replace(Assumptions(), batch_requests_per_10s=8)
    run = burst("batch", 100, recordings=200, engine="batch", assumptions=tight)
    assert {rec.engine for rec in run.recordings} == {"batch"}
    assert (run.peak_sessions, run.batch_peak_per_10s) == (0, 8)
    assert run.stats.refused_host > 0  # submissions past the rate, retried as a refused start is
    assert run.stats.batch_finishes_refused > 0
    for rec in run.recordings:
        turnaround = min(tight.batch_start_delay_s + rec.seconds * tight.batch_turnaround, tight.batch_max_s)
        assert rec.done_at >= rec.uploaded_at + turnaround
    assert run.stats.done == len(run.recordings)


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
