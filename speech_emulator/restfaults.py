"""Faults for the REST APIs, per request or for the next requests, and the service's request rate limits.

A test picks a fault the way it does for the websocket: the ``fault`` query parameter on one request
(``...transcriptions:transcribe?api-version=2025-10-15&fault=reject-429``). A client whose URLs are built
for it (the product) gets faults from the command line (``--fast-fault reject-429:1``: the next request
only) or, while the emulator runs, from ``POST /emulator/faults`` ``{"api": "fast", "fault": "slow",
"count": 2}`` (``count`` 0 clears; absent: every request from now on).

=================  ===========  ============================================================
fault              API          what the emulator does
=================  ===========  ============================================================
reject-<400..599>  fast, batch  answers that status before reading the body: 401 and 429 in the
                                gateway's shape (429 with ``Retry-After``), others in the API's
slow               fast         reads the upload, waits ``--rest-slow`` seconds (``fault-delay``
                                query parameter), then transcribes and answers
silent             fast         reads the upload, never answers; drops the connection after
                                ``--stall-limit`` seconds
cut                fast         drops the connection (TCP reset) halfway through the upload
failed-transient   batch        the transcription ends ``Failed`` with ``InternalServerError``
failed-permanent   batch        the transcription ends ``Failed`` with ``InvalidData``
no-callback        batch        the transcription succeeds; no webhook is called
stuck              batch        the transcription stays ``Running`` until deleted
=================  ===========  ============================================================

Batch faults apply to ``transcriptions:submit`` requests; the transcription keeps its fault.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum

FAULT_PARAMETER = "fault"
DELAY_PARAMETER = "fault-delay"
APIS = ("fast", "batch")


class RestFaultKind(Enum):
    REJECT = "reject"
    SLOW = "slow"
    SILENT = "silent"
    CUT = "cut"
    FAILED_TRANSIENT = "failed-transient"
    FAILED_PERMANENT = "failed-permanent"
    NO_CALLBACK = "no-callback"
    STUCK = "stuck"


#: Which faults each API knows (REJECT in both, as ``reject-<status>``).
_KINDS = {
    "fast": {RestFaultKind.SLOW, RestFaultKind.SILENT, RestFaultKind.CUT},
    "batch": {
        RestFaultKind.FAILED_TRANSIENT,
        RestFaultKind.FAILED_PERMANENT,
        RestFaultKind.NO_CALLBACK,
        RestFaultKind.STUCK,
    },
}
_REJECT = re.compile(r"^reject-(\d{3})$")


@dataclass(frozen=True)
class RestFault:
    name: str
    kind: RestFaultKind
    status: int = 0  # for REJECT


def parse_rest_fault(name: str | None, api: str) -> RestFault | None:
    """The fault named for ``api`` (``fast`` or ``batch``), None for none; ValueError for an unknown one.

    Unknown names are an error rather than ignored: a typo would turn a failure test into a passing one.
    """
    if name is None or name in ("", "none"):
        return None
    match = _REJECT.match(name)
    if match and 400 <= int(match.group(1)) <= 599:
        return RestFault(name, RestFaultKind.REJECT, int(match.group(1)))
    kind = next((k for k in _KINDS[api] if k.value == name), None)
    if kind is None:
        known = ", ".join(["reject-<400..599>", *sorted(k.value for k in _KINDS[api])])
        raise ValueError(f"unknown {api} fault {name!r}; known: {known}")
    return RestFault(name, kind)


def parse_fault_spec(spec: str, api: str) -> tuple[RestFault, int | None]:
    """``NAME`` or ``NAME:COUNT`` from the command line: the fault and how many requests get it."""
    name, _, count = spec.partition(":")
    fault = parse_rest_fault(name, api)
    if fault is None:
        raise ValueError("a fault name is needed")
    if count and (not count.isdigit() or int(count) < 1):
        raise ValueError(f"fault count must be a positive whole number, not {count!r}")
    return fault, int(count) if count else None


class FaultPlan:
    """Faults for the next requests of each API; shared by the command line and ``POST /emulator/faults``."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[RestFault, int | None]] = {}
        self._lock = threading.Lock()

    def set(self, api: str, fault: RestFault | None, count: int | None = None) -> None:
        """The next ``count`` requests (None: all) of ``api`` get ``fault``; a None fault or count 0 clears."""
        with self._lock:
            if fault is None or count == 0:
                self._plans.pop(api, None)
            else:
                self._plans[api] = (fault, count)

    def take(self, api: str) -> RestFault | None:
        """The fault for one request of ``api`` (counted), None when none is planned."""
        with self._lock:
            plan = self._plans.get(api)
            if plan is None:
                return None
            fault, left = plan
            if left is not None:
                if left <= 1:
                    del self._plans[api]
                else:
                    self._plans[api] = (fault, left - 1)
            return fault


class RateLimit:
    """At most ``limit`` requests in any ``window`` seconds, as the service meters them (0: no limit).

    Fast transcription: 600 per minute; batch: 100 per 10 s (the Speech quotas page).
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def admit(self, now: float | None = None) -> int | None:
        """None when the request may go on, else the seconds to wait (the ``Retry-After`` value)."""
        if self.limit <= 0:
            return None
        now = time.monotonic() if now is None else now
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return max(1, math.ceil(self._times[0] + self.window - now))
        self._times.append(now)
        return None
