"""The blob door run over a list of recordings, for the sweep and ``python -m shared.backfill``: each as a
*retry* (a transient failure is recorded, not raised), ``concurrency`` at a time, none started after
``stop_at``; one recording's failure, even a bug, never ends the others'.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from shared.errors import TranscriptionError
from shared.platform import storage
from shared.recordings.door import RETRY, BlobOutcome, handle_blob
from shared.settings import Settings

log = logging.getLogger(__name__)

#: Called in the caller's thread as each recording ends: its name and outcome.
OnOutcome = Callable[[str, BlobOutcome], None]


def catch_up(
    settings: Settings,
    names: list[str],
    *,
    concurrency: int = 1,
    stop_at: float | None = None,
    on_outcome: OnOutcome | None = None,
) -> int:
    """Transcribe ``names`` in order through the blob door; how many were left unstarted at ``stop_at`` (a
    ``time.monotonic()`` instant: running tries finish, each bounded by its own deadline)."""
    todo = list(reversed(names))
    with storage.blob_service(settings) as service, ThreadPoolExecutor(concurrency) as pool:
        inputs = service.get_container_client(settings.input_container)
        running: dict[Future[BlobOutcome], str] = {}
        while todo or running:
            while todo and len(running) < concurrency and (stop_at is None or time.monotonic() < stop_at):
                name = todo.pop()
                running[pool.submit(handle_blob, inputs.get_blob_client(name), settings, via=RETRY)] = name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                outcome = _outcome(future, name)
                if on_outcome is not None:
                    on_outcome(name, outcome)
    return len(todo)


def _outcome(future: Future[BlobOutcome], name: str) -> BlobOutcome:
    """The try's outcome; a bug in it (anything but a typed error) is logged as that recording's failure."""
    try:
        return future.result()
    except Exception as exc:  # a bug in one recording's try must not end the others'
        log.exception("%s: the try failed unexpectedly", name)
        error = exc if isinstance(exc, TranscriptionError) else TranscriptionError(f"{type(exc).__name__}")
        return BlobOutcome("failed", name, error=error)
