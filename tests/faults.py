"""What the fault-matrix tests share: breaking the identity endpoint, timing a call, checking the input.

Each case in ``tests/test_fault_matrix.py`` injects one fault as an operator would meet it (an identity
endpoint that answers 500 or trickles, storage that goes away, a wrong endpoint, a bad setting) against
the real local stack, and asserts the classification (code, transient), what the caller sees (the HTTP
status, ``.error.json``), that the input blob is byte for byte intact, and that the case ends within
its documented bound. ``SLACK`` is the generous factor a loaded 2-core machine gets on every bound.
"""

from __future__ import annotations

import json
import re
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


def deliver(name: str) -> Timed:
    """One delivery of the blob trigger for ``name`` in ``audio-in``, as the host makes it (timed, caught)."""
    from shared.recordings.door import handle_blob
    from tests.conftest import host_blob_client

    return timed(lambda: handle_blob(host_blob_client("audio-in", name)))


def intact(service, name: str, data: bytes) -> bool:
    """Whether the input blob ``name`` is byte for byte ``data``."""
    return service.get_container_client("audio-in").get_blob_client(name).download_blob().readall() == data


def error_record(service, name: str) -> dict | None:
    """The recording's ``.error.json``, if it has one."""
    from tests.blob_io import results

    found = results(service, name).get(".error.json")
    return json.loads(found) if found else None


#: What in an HTTP body would give an internal endpoint away: a URL, a host and port (``h:1234``, or
#: urllib3's ``host='...', port=``), an IP address, a query parameter, a connection id (32 hex digits).
_INTERNALS = re.compile(
    r"\b(?:https?|wss?)://|\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b|host='|port=\d"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b|[?&]\w+=|\b[0-9a-f]{32}\b",
    re.IGNORECASE,
)


def internals(body: bytes | str, *ports: int) -> list[str]:
    """What of an internal endpoint ``body`` (an error's JSON) gives away (empty: nothing), ``ports`` included."""
    text = body.decode() if isinstance(body, bytes) else body
    return _INTERNALS.findall(text) + [str(port) for port in ports if re.search(rf"\b{port}\b", text)]


def fault_table(readme: str) -> list[tuple[str | None, str | None]]:
    """``(test file or None, test name or None)`` for each row of the README's fault table.

    A row names its test as `` `test_...` `` (in ``tests/test_fault_matrix.py``) or as
    `` `tests/test_other.py` `test_...` ``.
    """
    table = readme.split("<!-- fault-table -->")[1].split("<!-- /fault-table -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| fault")]
    named = []
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[-1]
        found = re.fullmatch(r"\s*(?:`(tests/test_\w+\.py)`\s+)?`(test_\w+)`\s*", cell)
        named.append(found.groups() if found else (None, None))
    return named


def unbacked_rows(readme: str, repo) -> list[str]:
    """The fault table's rows whose test is not where the row says (``tests/test_fault_matrix.py`` if it
    names no file): ``file::test`` each, or the row's position when it names no test at all."""
    missing = []
    for number, (file, test) in enumerate(fault_table(readme), 1):
        path = repo / (file or "tests/test_fault_matrix.py")
        if test is None or not path.is_file() or f"def {test}(" not in path.read_text(encoding="utf-8"):
            missing.append(f"{file or 'tests/test_fault_matrix.py'}::{test}" if test else f"row {number}")
    return missing


def unavailable(http: Timed, code: str, bound: float) -> bool:
    """Whether a timed HTTP answer is 503 ``code`` with a ``Retry-After``, within ``bound``."""
    response = http.result
    return (
        response.status_code == 503
        and response.headers["Retry-After"].isdigit()
        and json.loads(response.get_body())["error"]["code"] == code
        and within(http.seconds, bound)
    )


def within(seconds: float, bound: float) -> bool:
    """Whether a case that should end within ``bound`` did (with ``SLACK``)."""
    return seconds <= bound * SLACK + OVERHEAD


@contextmanager
def proxied_storage(stack, monkeypatch) -> Iterator:
    """The app's blob storage (``AudioStorage__blobServiceUri``) through a ``FaultyProxy`` the test can break."""
    from local_stack.proxy import FaultyProxy

    port = int(stack.storage.blob.split(":")[2].split("/")[0])
    with FaultyProxy(("127.0.0.1", port)) as proxy:
        monkeypatch.setenv("AudioStorage__blobServiceUri", stack.storage.blob.replace(str(port), str(proxy.port)))
        yield proxy


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
    return (
        b"RIFF"
        + struct.pack("<I", 36 + declared)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", declared)
        + data
    )
