"""When to try again: one policy for a refused Speech session start and for the sweep's retries.

Two waits, each bounded:

- **Inside an invocation.** A session start the service refused (429 past the resource's concurrency
  quota, or a connection refused or reset) is tried again after a *full-jitter* exponential delay,
  ``uniform(0, min(cap, base * 2**retry))``, until ``SPEECH_START_RETRY_SECONDS`` is spent. The
  jitter spreads many waiting invocations out, so a freed session slot is taken soon and the service
  never sees them come back in step; the cap keeps a freed slot from idling long.
- **Across invocations.** The host redelivers a failed event at once, ``MAX_DELIVERIES`` times in all.
  Past that a recording is the sweep's, which tries it again only once ``sweep_delay_seconds`` has
  passed since its last attempt: the delay doubles with each attempt, so a recording is never tried
  in a tight loop, and it is capped so that an outage of hours is still retried a few times an hour.
"""

from __future__ import annotations

import random

#: Deliveries of one event before the host gives up on it: ``host.json``'s ``poisonBlobThreshold``
#: (``tests/test_bindings.py`` ties the two).
MAX_DELIVERIES = 5

#: ``host.json``'s ``functionTimeout`` (4 h 30 min) in seconds: the host ends any invocation then, so the
#: settings must never let one need longer (``shared.settings`` checks; ``tests/test_bindings.py`` ties the two).
FUNCTION_TIMEOUT_SECONDS = 16200.0
#: What an invocation keeps unused before ``functionTimeout``: writing its results, collecting, its log line.
TIMEOUT_MARGIN_SECONDS = 300.0
#: A sweep run starts no new transcription after this long; running ones finish, inside the same timeout.
SWEEP_RUN_SECONDS = 600.0

#: The first retry of a refused session start waits up to this long (then 2x, 4x, ... up to the cap).
START_RETRY_BASE_SECONDS = 0.5
#: The longest single wait between two starts: short against a session, so a freed slot is soon taken.
START_RETRY_CAP_SECONDS = 8.0

#: A session start refused because ``SPEECH_ENDPOINT`` takes no connection at all is retried this long, not
#: the whole ``SPEECH_START_RETRY_SECONDS``: long enough for a blip, short enough to say a wrong setting soon.
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
    """How long after failed attempt number ``attempt`` (1-based) the sweep may try the recording again.

    Attempts up to ``MAX_DELIVERIES`` are the host's own deliveries, which come at once; the sweep's
    wait starts at ``SWEEP_RETRY_BASE_SECONDS`` and doubles with each attempt after them.
    """
    doublings = min(max(attempt - MAX_DELIVERIES, 0), 30)
    return min(SWEEP_RETRY_CAP_SECONDS, SWEEP_RETRY_BASE_SECONDS * 2**doublings)
