"""One scenario, simulated: build the parts, upload the burst, run to the end or the horizon, sum up.

``simulate`` returns the recordings themselves (the tests check invariants per recording) and
``summarize`` turns a run into the figures the report prints and saves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bench.capacity.assumptions import DEFAULT_SWEEP_CONCURRENCY, HOUR, Assumptions
from bench.capacity.engine import BATCH, DONE, FAST, REALTIME, Listing, Loop, Recording, Speech, Stats
from bench.capacity.handler import Handler
from bench.capacity.host import BlobTriggerGroup
from bench.capacity.sizing import Deployment, deployment_for_quota, sweep_concurrency_for_quota
from bench.capacity.sweep import Sweep
from bench.capacity.workload import burst

#: Samples for the plot: every minute at first, then every 2 % of the elapsed time (a log time axis).
SAMPLE_FIRST_S, SAMPLE_GROWTH = 60.0, 1.02


@dataclass(frozen=True)
class Scenario:
    """A burst against one deployment.

    ``instances``/``per_instance`` None: sized from the quota as the infra does. ``sweep_concurrency``
    None: what that deployment runs, ``sweep_concurrency_for_quota`` when sized (the infra sets
    ``SWEEP_CONCURRENCY`` from it), the app setting's default when the fleet is set by hand.
    """

    name: str
    quota: int
    recordings: int = 10_000
    instances: int | None = None
    per_instance: int | None = None
    sweep_concurrency: int | None = None
    speed: float = 1.0
    seed: int = 18
    upload_window_s: float = 600.0
    outage: tuple[float, float] | None = None
    #: ``realtime`` (every recording a session), ``auto`` (fast below ``fast_max_s``, as ``shared.engines``) or
    #: ``batch`` (every recording).
    engine: str = REALTIME
    note: str = ""
    assumptions: Assumptions = field(default_factory=Assumptions)

    def engine_for(self, seconds: float) -> str:
        """The engine a recording of ``seconds`` runs on in this scenario."""
        if self.engine == BATCH:
            return BATCH
        return FAST if self.engine == "auto" and seconds < self.assumptions.fast_max_s else REALTIME

    @property
    def sized(self) -> bool:
        return self.instances is None and self.per_instance is None

    def sweep(self) -> int:
        """``SWEEP_CONCURRENCY`` as this deployment runs it."""
        if self.sweep_concurrency is not None:
            return self.sweep_concurrency
        return sweep_concurrency_for_quota(self.quota) if self.sized else DEFAULT_SWEEP_CONCURRENCY

    def deployment(self) -> Deployment:
        sized = deployment_for_quota(self.quota, self.sweep())
        return Deployment(self.instances or sized.instances, self.per_instance or sized.per_instance)


@dataclass
class Run:
    scenario: Scenario
    recordings: list[Recording]
    stats: Stats
    peak_sessions: int
    fast_peak_per_min: int
    batch_peak_per_10s: int
    end_s: float
    events: int
    samples: list[tuple[float, int, int, int]]  # (t, transcribed, sessions in use, instances ready)


def simulate(scenario: Scenario) -> Run:
    """Run ``scenario`` until every recording is transcribed or given up, or the horizon."""
    a = scenario.assumptions
    uploads = burst(scenario.recordings, scenario.upload_window_s, a.max_audio_s, random.Random(scenario.seed))
    rng = random.Random(scenario.seed + 1)  # the workload stays the same when only the dynamics change
    loop, stats, listing = Loop(), Stats(), Listing()
    speech = Speech(scenario.quota, scenario.outage, a.fast_requests_per_min, a.batch_requests_per_10s)
    handler = Handler(loop, speech, stats, a, scenario.speed, rng)
    deployment = scenario.deployment()
    group = BlobTriggerGroup(loop, handler, stats, a, deployment.instances, deployment.per_instance, rng)
    recordings = [Recording(i, u.seconds, u.at, u.kind, scenario.engine_for(u.seconds)) for i, u in enumerate(uploads)]

    def upload(rec: Recording) -> None:
        listing.add(rec)  # in the sweep's listing from its upload on
        group.upload(rec)

    for rec in recordings:
        loop.at(rec.uploaded_at, upload, rec)
    Sweep(loop, handler, listing, stats, a, scenario.sweep()).start()
    samples: list[tuple[float, int, int, int]] = []

    def sample() -> None:
        samples.append((loop.now, stats.done, speech.in_use, group.ready))
        loop.after(max(SAMPLE_FIRST_S, loop.now * (SAMPLE_GROWTH - 1)), sample)

    loop.at(0.0, sample)
    total = len(recordings)
    loop.run(a.horizon_s, lambda: stats.terminal == total)
    samples.append((loop.now, stats.done, speech.in_use, group.ready))
    peaks = speech.peak, speech.fast_peak_per_min, speech.batch_peak_per_10s
    return Run(scenario, recordings, stats, *peaks, loop.now, loop.events, samples)


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


def summarize(run: Run) -> dict:
    """The scenario's figures, JSON-ready: times in hours, counts as counts."""
    s, sc, a = run.stats, run.scenario, run.scenario.assumptions
    deployment = sc.deployment()
    ideal = _ideal(run, deployment.concurrency + sc.sweep())
    done_at = sorted(rec.done_at for rec in run.recordings if rec.state == DONE)
    deliveries = sorted(rec.deliveries for rec in run.recordings)
    left = len(run.recordings) - s.terminal
    finished = left == 0
    return {
        "name": sc.name,
        "note": sc.note,
        "recordings": len(run.recordings),
        "quota": sc.quota,
        "instances": deployment.instances,
        "per_instance": deployment.per_instance,
        "sweep_concurrency": sc.sweep(),
        "speed": sc.speed,
        "engine": sc.engine,
        "fast_share": round(sum(rec.engine == FAST for rec in run.recordings) / max(1, len(run.recordings)), 4),
        "fast_peak_per_min": run.fast_peak_per_min,
        "batch_peak_per_10s": run.batch_peak_per_10s,
        "batch_finishes_refused": s.batch_finishes_refused,
        "outage_h": _outage_hours(sc),
        "session_deadline_h": _hours(a.session_deadline_s),
        "finished": finished,
        "end_h": _hours(run.end_s),
        "completion_h": _hours(max(done_at)) if finished and done_at else None,
        "last_done_h": _hours(max(done_at, default=None)),
        "t50_h": _hours(_nth(done_at, 0.5, len(run.recordings))),
        "t99_h": _hours(_nth(done_at, 0.99, len(run.recordings))),
        "ideal_h": _hours(ideal),
        "audio_h": _hours(sum(rec.seconds for rec in run.recordings)),
        "peak_sessions": run.peak_sessions,
        "peak_instances": s.peak_instances,
        "deliveries_mean": round(sum(deliveries) / len(deliveries), 3) if deliveries else 0.0,
        "deliveries_p99": _percentile(deliveries, 0.99),
        "deliveries_max": max(deliveries, default=0),
        "max_deliveries_per_event": max(
            (rec.deliveries / rec.events for rec in run.recordings if rec.events), default=0.0
        ),
        "refused_host": s.refused_host,
        "refused_sweep": s.refused_sweep,
        "outage_refusals": s.outage_refusals,
        "waiting_function_h": _hours(s.waiting_s),
        "function_h": _hours(s.function_s),
        "sweep_function_h": _hours(s.sweep_function_s),
        "sweep_session_h": _hours(s.sweep_session_s),
        "left": left,
        "given_up": s.given_up,
        "done_by_sweep": s.done_by_sweep,
        "handed_to_sweep": s.handed_to_sweep,
        "events_lost": s.events_lost,
        "events_duplicated": s.events_duplicated,
        "events_expired": s.events_expired,
        "poisoned": s.poisoned,
        "killed": s.killed,
        "blips": s.blips,
        "deadline_failures": s.deadline_failures,
        "skipped_deliveries": s.skipped,
        "sweep_runs": s.sweep_runs,
        "sweep_attempts": s.sweep_attempts,
        "sweep_skipped": s.sweep_skipped,
        "given_up_retried": s.given_up_retried,
        "raised_max": max((rec.raised for rec in run.recordings), default=0),
        "events_simulated": run.events,
        "samples": [[round(t / HOUR, 4), done, in_use, ready] for t, done, in_use, ready in run.samples],
    }


def _ideal(run: Run, usable: int) -> float:
    """Every session and request back to back on all the invocations the deployment allows, sessions within
    the quota, requests within the rate limit, and never less than the longest one."""
    sc, a = run.scenario, run.scenario.assumptions
    sessions = [rec.seconds / sc.speed + a.session_overhead_s for rec in run.recordings if rec.engine == REALTIME]
    requests = [rec.seconds / a.fast_speed + a.fast_overhead_s for rec in run.recordings if rec.engine == FAST]
    batch = [rec for rec in run.recordings if rec.engine == BATCH]
    if batch:  # the service's turnaround, or the request quota for a submission and a finish each
        turnaround = max(min(a.batch_start_delay_s + r.seconds * a.batch_turnaround, a.batch_max_s) for r in batch)
        return max(turnaround, len(batch) * (1 + a.batch_finish_requests) * 10.0 / a.batch_requests_per_10s)
    return max(
        sum(sessions) / min(sc.quota, usable),
        (sum(sessions) + sum(requests)) / usable,
        len(requests) * 60.0 / a.fast_requests_per_min,
        max(sessions + requests, default=0.0),
    )


def _nth(done_at: list[float], share: float, total: int) -> float | None:
    """When ``share`` of all recordings (not of those done) had a transcript; None if never."""
    index = max(0, int(share * total + 0.5) - 1)
    return done_at[index] if index < len(done_at) else None


def _outage_hours(sc: Scenario) -> list[float] | None:
    return None if sc.outage is None else [round(t / HOUR, 2) for t in sc.outage]
