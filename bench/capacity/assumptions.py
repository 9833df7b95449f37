"""Every number the capacity model runs on, each with where it comes from.

The product's own numbers are read from the product (``host.json``, ``shared/platform/retry_policy.py``,
``shared/settings``, ``shared/recordings/sweep.py``, ``shared/recordings/claims.py``) when this module is imported, so a
changed retry count, function timeout, deadline or sweep setting changes the model's figures instead
of leaving them stale. The rest are the platform's documented defaults or, where nothing is
published, stated assumptions; docs/capacity.md lists each with its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shared.engines import FAST_MAX_SECONDS
from shared.platform import retry_policy
from shared.platform.retry_policy import SWEEP_RUN_SECONDS
from shared.recordings.claims import LEASE_SECONDS
from shared.settings import Settings

#: Bumped whenever the model's rules change, so a saved run says which rules made it. 2: the recovery
#: design as implemented (the sweep's listing, due rule, run budget and concurrency; the door's
#: delivery count per recording; start retries to the end of their budget; leases that lapse). 3: the
#: fast engine (``engine=auto`` per recording, its request rate limit, no session held). 4: the batch engine
#: (submitted, finished by the service's callback after its turnaround, every request within its rate limit).
MODEL_VERSION = 4

REPO = Path(__file__).resolve().parents[2]
HOST_JSON = REPO / "host.json"

MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR


def _hms_seconds(text: str) -> float:
    """``"04:30:00"`` (host.json's ``functionTimeout``) in seconds."""
    hours, minutes, seconds = (float(part) for part in text.split(":"))
    return hours * HOUR + minutes * MINUTE + seconds


def _host() -> dict:
    return json.loads(HOST_JSON.read_text())


def _settings_default(name: str) -> float:
    """A ``Settings`` field's default: what the app runs with when the setting is not set."""
    return float(getattr(Settings, name))


def schedule_period_s(schedule: str) -> float:
    """The period of an NCRONTAB ``0 */N * * * *`` (every N minutes), the only shape the model runs."""
    fields = schedule.split()
    if len(fields) != 6 or fields[0] != "0" or not fields[1].startswith("*/") or set(fields[2:]) != {"*"}:
        raise ValueError(f"the capacity model runs a sweep every N minutes ('0 */N * * * *'), not {schedule!r}")
    return int(fields[1][2:]) * MINUTE


_HOST = _host()
_BLOBS = _HOST["extensions"]["blobs"]

#: ``host.json`` ``functionTimeout``: an invocation running longer is killed by the host.
FUNCTION_TIMEOUT_SECONDS = _hms_seconds(_HOST["functionTimeout"])
#: ``host.json`` ``extensions.blobs.maxDegreeOfParallelism``: the most blob invocations one instance runs.
MAX_PER_INSTANCE = int(_BLOBS["maxDegreeOfParallelism"])
#: ``host.json`` ``extensions.blobs.poisonBlobThreshold``, the same as ``retry_policy.MAX_DELIVERIES``.
POISON_THRESHOLD = int(_BLOBS["poisonBlobThreshold"])
#: ``SWEEP_CONCURRENCY`` when the app setting is not set: what a deployment not sized by the infra runs.
DEFAULT_SWEEP_CONCURRENCY = int(Settings.sweep_concurrency)
#: Flex Consumption's bounds on ``maximumInstanceCount`` (Microsoft Learn, event-driven scaling,
#: "Limit scale-out": lowest 1, highest 1000, applied per scale group).
MIN_INSTANCES, MAX_INSTANCES = 1, 1000


@dataclass(frozen=True)
class Assumptions:
    """The model's constants; a scenario overrides a few with ``dataclasses.replace``."""

    # --- the product, read from its code and configuration ---
    #: The door's last delivery: once a recording's error record counts this many tries by events
    #: (across all its events), a transient failure is recorded and returned, not raised.
    max_deliveries: int = retry_policy.MAX_DELIVERIES
    #: Dequeues of one host message before the host moves it to the poison queue.
    poison_threshold: int = POISON_THRESHOLD
    #: An invocation (waiting + session) longer than this is killed: a failed delivery, no record written.
    function_timeout_s: float = FUNCTION_TIMEOUT_SECONDS
    #: ``TRANSCRIPTION_DEADLINE_SECONDS``: a session still running after this fails (``speech_timeout``,
    #: transient, counted as a fault).
    session_deadline_s: float = _settings_default("transcription_deadline_seconds")
    #: ``MAX_AUDIO_MINUTES``: the longest recording accepted; the duration mix is capped here.
    max_audio_s: float = _settings_default("max_audio_minutes") * MINUTE
    #: ``SPEECH_START_RETRY_SECONDS`` default: how long one invocation keeps retrying a refused start.
    start_budget_s: float = _settings_default("speech_start_retry_seconds")
    #: ``SWEEP_SCHEDULE`` default (``0 */5 * * * *``), as a period.
    sweep_period_s: float = schedule_period_s(Settings.sweep_schedule)
    #: ``retry_policy.SWEEP_RUN_SECONDS``: a sweep run starts no new recording after this much of its run.
    sweep_run_budget_s: float = SWEEP_RUN_SECONDS
    #: ``MAX_ATTEMPTS``: faults (failed tries other than throttling) before the sweep gives a recording up.
    max_attempts: int = int(Settings.max_attempts)
    #: ``shared.recordings.claims.LEASE_SECONDS``: a killed worker's claim lapses this long after its last renewal.
    lease_s: float = float(LEASE_SECONDS)
    # --- the platform ---
    #: Storage queue message time-to-live, default 7 days: a host message older than this is lost.
    queue_ttl_s: float = 7 * DAY
    #: Scale controller: one decision per interval, adding at most ``scale_step`` instances, each
    #: ready ``cold_start_s`` later. ASSUMPTION: Flex manages its "scale curve" itself and publishes
    #: no figure (the Consumption plan's documented non-HTTP rate is one instance per 30 s).
    scale_interval_s: float = 10.0
    scale_step: int = 10
    cold_start_s: float = 10.0
    #: Event Grid: share of events never delivered and share delivered twice (ASSUMPTION: at-least-once
    #: is documented, rates are not), its latency, and how late a duplicate comes.
    event_loss: float = 0.001
    event_duplicate: float = 0.001
    event_latency_s: tuple[float, float] = (0.5, 3.0)
    duplicate_delay_s: float = 60.0
    # --- the Speech service ---
    #: One refused start costs this long: the SDK's own quick retries (README, ``reject-429``: ≈1 s).
    try_cost_s: float = 1.0
    #: Connect, drain and close around the audio, held against the quota (ASSUMPTION).
    session_overhead_s: float = 5.0
    #: Chance that a session fails part-way with a transient service error (ASSUMPTION: 0.5 %).
    blip_probability: float = 0.005
    #: A delivery for a recording already claimed or transcribed: read its state, return (ASSUMPTION).
    skip_s: float = 0.5
    # --- the fast engine ---
    #: Fast transcription's request quota: 600 per minute (Speech quotas and limits, adjustable); a request
    #: past it is refused (429) and retried as a refused session start is.
    fast_requests_per_min: int = 600
    #: ``engine=auto`` sends a recording shorter than this to fast (``shared.engines.FAST_MAX_SECONDS``).
    fast_max_s: float = float(FAST_MAX_SECONDS)
    #: How much faster than real time one request is answered (ASSUMPTION: Microsoft's "a 20-minute file in
    #: under a minute" is >= 20x, one user measured 121 s in 7.8 s, 15.5x; the lower is taken).
    fast_speed: float = 15.0
    #: The upload and the token around the answer, per request (ASSUMPTION).
    fast_overhead_s: float = 5.0
    # --- the batch engine ---
    #: Batch transcription's request quota: 100 requests per 10 s (Speech quotas and limits), every request
    #: counted: a submission, then a finish's get, list of files and delete (the result file itself is read from
    #: a SAS link: ASSUMPTION, not counted). A submission past it is retried as a refused start is.
    batch_requests_per_10s: int = 100
    batch_finish_requests: int = 3
    #: The service's turnaround, best effort (ASSUMPTION from the documentation: at peak up to 30 min before it
    #: starts, then "usually about half the audio's length" per the Ingestion Client's guide; 24 h at most).
    batch_start_delay_s: float = 30 * MINUTE
    batch_turnaround: float = 0.5
    batch_max_s: float = 24 * HOUR
    #: One submission (the audio's head read, a token, one request, two small writes) and one finish (a token,
    #: the requests, the results written) as function time (ASSUMPTION).
    batch_submit_s: float = 3.0
    batch_finish_s: float = 5.0
    #: A finish the quota refuses answers the callback 503 and is left to the sweep's first poll (the
    #: service's own retries of its callback are not counted).
    batch_refused_finish_wait_s: float = retry_policy.BATCH_POLL_BASE_SECONDS
    # --- the run ---
    #: The simulation stops here even if recordings are left, and says so.
    horizon_s: float = 60 * DAY
