"""What the fault-matrix tests share: breaking the identity endpoint, timing a call, checking the input.

Each case in ``tests/test_fault_matrix.py`` injects one fault as an operator would meet it (an identity
endpoint that answers 500 or trickles, storage that goes away, a wrong endpoint, a bad setting) against
the real local stack, and asserts the classification (code, transient), what the caller sees (the HTTP
status, ``.error.json``), that the input blob is byte for byte intact, and that the case ends within
its documented bound. ``SLACK`` is the generous factor a loaded 2-core machine gets on every bound.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Every bound is asserted as ``bound * SLACK + OVERHEAD``: CI machines are slow and busy.
SLACK = 2.0
OVERHEAD = 5.0

STORAGE_RESOURCE = "https://storage.azure.com"
SPEECH_RESOURCE = "https://cognitiveservices.azure.com"


@dataclass
class Timed:
    """What a timed call did: its result or exception, and how long it took."""

    seconds: float
    result: object = None
    error: BaseException | None = None


def timed(call: Callable[[], object]) -> Timed:
    """Run ``call``, catching any exception, and time it."""
    started = time.monotonic()
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - the case inspects it
        return Timed(time.monotonic() - started, error=exc)
    return Timed(time.monotonic() - started, result=result)


def within(seconds: float, bound: float) -> bool:
    """Whether a case that should end within ``bound`` did (with ``SLACK``)."""
    return seconds <= bound * SLACK + OVERHEAD


@contextmanager
def identity_healed(stack, *resources: str) -> Iterator[None]:
    """Whatever the case broke, the identity endpoint answers normally again afterwards."""
    try:
        yield
    finally:
        for resource in resources:
            stack.spoil_tokens(resource, "status-500", count=0)


def declared_wav(declared_seconds: float, actual_seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A 16-bit mono WAV whose header declares ``declared_seconds`` over ``actual_seconds`` of silence."""
    data = b"\x00\x00" * int(rate * actual_seconds)
    declared = int(rate * 2 * declared_seconds)
    return (b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", declared) + data)
