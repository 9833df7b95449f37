"""One structured line per blob invocation, ``invocation {"invocation_id": ..., "outcome": ...}``: JSON after
a fixed word, so a log query finds every line with one filter (the fields: ``docs/recovery.md``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 0.0


def rss_mib() -> float | None:
    """This process's resident memory in MiB (Linux), or ``None`` where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return round(int(statm.read().split()[1]) * _PAGE_MIB, 1)
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class InvocationRecord:
    """Filled in as the invocation goes; written once, whatever the outcome, by ``write``."""

    blob: str
    invocation_id: str | None = None
    via: str = "event"
    outcome: str = "error"
    code: str | None = None
    attempt: int | None = None
    audio_seconds: float | None = None
    token_ms: float | None = None
    started: float = field(default_factory=time.monotonic)
    rss_mib_before: float | None = field(default_factory=rss_mib)

    def write(self) -> None:
        line = {
            "invocation_id": self.invocation_id,
            "blob": self.blob,
            "via": self.via,
            "outcome": self.outcome,
            "code": self.code,
            "attempt": self.attempt,
            "audio_seconds": self.audio_seconds,
            "wall_seconds": round(time.monotonic() - self.started, 3),
            "token_ms": self.token_ms,
            "rss_mib_before": self.rss_mib_before,
            "rss_mib_after": rss_mib(),
        }
        log.info("invocation %s", json.dumps(line, separators=(",", ":")))
