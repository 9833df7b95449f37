"""Faults a client can ask for, one session at a time, to test how it handles a failing service.

A test picks the fault with a query parameter that the real SDK can add to its websocket URL::

    config.set_service_property("fault", "reject-429", speechsdk.ServicePropertyChannel.UriQueryParameter)

so no emulator restart or side channel is needed, and concurrent sessions can fail differently.

==============  ===========================================  ===============================
fault           what the emulator does                        what the SDK reports
==============  ===========================================  ===============================
reject-401      refuses the websocket upgrade: HTTP 401       canceled, AuthenticationFailure
reject-403      refuses the websocket upgrade: HTTP 403       canceled, AuthenticationFailure
reject-429      refuses the websocket upgrade: HTTP 429       canceled, TooManyRequests
                                                              (after the SDK's own retries)
reject-500      refuses the websocket upgrade: HTTP 500       canceled, ServiceError
reject-503      refuses the websocket upgrade: HTTP 503       canceled, ServiceUnavailable
close-1011      closes mid-stream with code 1011              canceled, ServiceError
close-4429      closes mid-stream with code 4429              canceled, TooManyRequests
bad-request     closes with 1007 on the turn's speech.context canceled, BadRequest
stall           goes silent mid-stream, keeps the socket      nothing: the client's own
                open (until ``--stall-limit`` seconds)        deadline must fire
nomatch         answers every phrase with NoMatch             NoMatch results, no text
==============  ===========================================  ===============================

Other ``reject-<400..599>`` and ``close-<1000..4999>`` values work too; the SDK's mapping for
them is in :data:`SDK_ERROR_CODES`. "Mid-stream" means: after ``turn.start`` and
``speech.startDetected``, when phrase number ``fault-after`` + 1 is ready (``fault-after`` is a
second optional query parameter, default 0), or at the end of the audio if that comes first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

FAULT_PARAMETER = "fault"
FAULT_AFTER_PARAMETER = "fault-after"


class FaultKind(Enum):
    """When and how a fault acts."""

    REJECT = "reject"  # at the HTTP upgrade
    BAD_REQUEST = "bad-request"  # when the turn's speech.context arrives
    CLOSE = "close"  # mid-stream
    STALL = "stall"  # mid-stream
    NOMATCH = "nomatch"  # on every phrase


#: What SDK 1.53 reports for an HTTP status at upgrade or a close code after it (observed by
#: probes, see shared notes): the value is a ``CancellationErrorCode`` member name.
SDK_ERROR_CODES: dict[str, str] = {
    "http-400": "BadRequest",
    "http-401": "AuthenticationFailure",
    "http-403": "AuthenticationFailure",
    "http-404": "ServiceError",
    "http-429": "TooManyRequests",
    "http-500": "ServiceError",
    "http-503": "ServiceUnavailable",
    "close-1007": "BadRequest",
    "close-1011": "ServiceError",
    "close-1013": "ServiceError",
    "close-4429": "TooManyRequests",
}

_REASONS = {
    401: "Unauthorized (fault injected)",
    403: "Forbidden (fault injected)",
    429: "Too many requests (fault injected)",
    500: "Internal server error (fault injected)",
    503: "Service unavailable (fault injected)",
}


@dataclass(frozen=True)
class Fault:
    """One parsed fault request."""

    name: str
    kind: FaultKind
    code: int = 0  # HTTP status for REJECT, websocket close code for CLOSE and BAD_REQUEST
    after_phrases: int = 0

    @property
    def sdk_error_code(self) -> str | None:
        """The ``CancellationErrorCode`` name the SDK reports, None when it does not cancel."""
        if self.kind is FaultKind.REJECT:
            return SDK_ERROR_CODES.get(f"http-{self.code}", "ServiceError" if self.code >= 500 else "BadRequest")
        if self.kind in (FaultKind.CLOSE, FaultKind.BAD_REQUEST):
            return SDK_ERROR_CODES.get(f"close-{self.code}", "ServiceError")
        return None

    @property
    def reason(self) -> str:
        """Text sent with the HTTP refusal or the close frame (the SDK shows it in error details)."""
        if self.kind is FaultKind.REJECT:
            return _REASONS.get(self.code, f"HTTP {self.code} (fault injected)")
        if self.kind is FaultKind.BAD_REQUEST:
            return "Bad request (fault injected)"
        return f"Closed with {self.code} (fault injected)"


#: The names documented above; ``parse_fault`` also takes any reject-/close- code in range.
FAULT_NAMES = (
    "reject-401",
    "reject-403",
    "reject-429",
    "reject-500",
    "reject-503",
    "close-1011",
    "close-4429",
    "bad-request",
    "stall",
    "nomatch",
)

_CODED = re.compile(r"^(reject|close)-(\d{3,4})$")


def parse_fault(name: str | None, after: str | None = None) -> Fault | None:
    """The fault a session asked for, None for none; ValueError for an unknown one.

    Unknown names are an error rather than ignored: a typo would otherwise turn a failure test
    into a silently passing success test.
    """
    if name is None or name in ("", "none"):
        return None
    try:
        after_phrases = int(after) if after not in (None, "") else 0
    except ValueError:
        raise ValueError(f"{FAULT_AFTER_PARAMETER} must be a whole number, not {after!r}") from None
    if after_phrases < 0:
        raise ValueError(f"{FAULT_AFTER_PARAMETER} must not be negative")
    match = _CODED.match(name)
    if match:
        kind, code = match.group(1), int(match.group(2))
        if kind == "reject" and 400 <= code <= 599:
            return Fault(name, FaultKind.REJECT, code, after_phrases)
        if kind == "close" and 1000 <= code <= 4999 and code not in (1004, 1005, 1006, 1015):
            return Fault(name, FaultKind.CLOSE, code, after_phrases)
    if name == "bad-request":
        return Fault(name, FaultKind.BAD_REQUEST, 1007, after_phrases)
    if name == "stall":
        return Fault(name, FaultKind.STALL, 0, after_phrases)
    if name == "nomatch":
        return Fault(name, FaultKind.NOMATCH, 0, after_phrases)
    raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
