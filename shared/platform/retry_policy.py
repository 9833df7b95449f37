"""When to try again: one policy for a refused Speech session start and for the sweep's retries.

Inside an invocation a refused start waits a full-jitter exponential delay, so waiting invocations never
come back in step and a freed slot is soon taken. Across invocations the host redelivers at once, then the
sweep waits longer after each attempt, capped so an outage of hours is still retried a few times an hour
(``docs/recovery.md``).
"""

from __future__ import annotations

import random

#: Deliveries of one event before the host gives up on it: ``host.json``'s ``poisonBlobThreshold``.
MAX_DELIVERIES = 5

#: ``host.json``'s ``functionTimeout``: the host ends any invocation then, so the settings may not need longer.
FUNCTION_TIMEOUT_SECONDS = 16200.0
#: What an invocation keeps unused before ``functionTimeout``: writing its results, collecting, its log line.
TIMEOUT_MARGIN_SECONDS = 300.0
#: A sweep run starts no new transcription after this long; running ones finish, inside the same timeout.
SWEEP_RUN_SECONDS = 600.0

#: The first retry of a refused session start waits up to this long (then 2x, 4x, ... up to the cap).
START_RETRY_BASE_SECONDS = 0.5
#: The longest single wait between two starts: short against a session, so a freed slot is soon taken.
START_RETRY_CAP_SECONDS = 8.0

#: How long a start is retried when ``SPEECH_ENDPOINT`` takes no connection: a blip, not a wrong setting.
UNREACHABLE_RETRY_SECONDS = 10.0
#: The sweep's first retry of a recording the host gave up on waits this long after the last attempt.
SWEEP_RETRY_BASE_SECONDS = 300.0
#: ... and no retry waits longer than this.
SWEEP_RETRY_CAP_SECONDS = 3600.0


def start_retry_delay(retry: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first) of a refused session start."""
    ceiling = min(START_RETRY_CAP_SECONDS, START_RETRY_BASE_SECONDS * 2 ** min(max(retry, 0), 30))
    return (rng or random).uniform(0.0, ceiling)


def sweep_delay_seconds(attempt: int) -> float:
    """How long after failed attempt number ``attempt`` (1-based) the sweep may try the recording again:
    doubling with each attempt past the host's own ``MAX_DELIVERIES``."""
    doublings = min(max(attempt - MAX_DELIVERIES, 0), 30)
    return min(SWEEP_RETRY_CAP_SECONDS, SWEEP_RETRY_BASE_SECONDS * 2**doublings)


#: The sweep first polls a batch transcription that no callback has finished this long after its submission: a
#: callback comes within seconds of the end, and the service takes minutes at the least.
BATCH_POLL_BASE_SECONDS = 600.0


def batch_poll_delay_seconds(polls: int) -> float:
    """How long after its submission, or its last poll (``polls`` so far), the sweep polls a batch transcription
    again: doubling, capped as the sweep's retries are, so 10,000 waiting stay far inside the request quota."""
    return min(SWEEP_RETRY_CAP_SECONDS, BATCH_POLL_BASE_SECONDS * 2 ** min(max(polls, 0), 30))
