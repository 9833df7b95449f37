"""The concurrent-session quota and the counters a load test reads to prove it held.

The real service refuses a websocket upgrade with HTTP 429 once a resource has as many
concurrent sessions as its tier allows (S0: 100, F0: 1); the SDK retries a few times and then
cancels with ``TooManyRequests``. ``--max-sessions K`` does the same locally, so the product's own
concurrency limit can be tested against a quota without an Azure account. A session counts from
the moment its upgrade is accepted until its websocket is gone, as a service-side slot would.

``GET /stats`` on the same port answers with these counters as JSON; a load test reads ``peak``
afterwards: if it ever exceeded the product's own limit, the product let too many sessions out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STATS_PATH = "/stats"


@dataclass
class SessionCounter:
    """Live, peak, accepted and refused sessions of one emulator process (event-loop only)."""

    max_sessions: int | None = None  # None: no quota
    live: int = 0
    peak: int = 0
    accepted: int = 0
    refused: int = 0  # upgrades refused for the quota (injected reject-429 faults are not counted)

    def __post_init__(self) -> None:
        if self.max_sessions is not None and self.max_sessions < 1:
            raise ValueError("--max-sessions must be at least 1")

    def admit(self) -> bool:
        """Take a slot for an upgrade about to be accepted; False (counted) when the quota is full."""
        if self.max_sessions is not None and self.live >= self.max_sessions:
            self.refused += 1
            return False
        self.live += 1
        self.accepted += 1
        self.peak = max(self.peak, self.live)
        return True

    def release(self) -> None:
        """The session's websocket is gone: its slot is free."""
        self.live = max(0, self.live - 1)

    def snapshot(self, **extra: Any) -> dict[str, Any]:
        """The counters as the ``/stats`` body."""
        return {
            "live": self.live,
            "peak": self.peak,
            "accepted": self.accepted,
            "refused_quota": self.refused,
            "max_sessions": self.max_sessions,
            **extra,
        }

    def to_json(self, **extra: Any) -> str:
        return json.dumps(self.snapshot(**extra), separators=(",", ":")) + "\n"
