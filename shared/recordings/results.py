"""What the blob door writes beside each recording in the output container, and under which names.

For an input blob ``<name>``: ``<name>.json`` (the transcript; written last, since it is what marks
that version of the blob done), ``<name>.txt``/``.srt``/``.vtt`` (the other ``OUTPUT_FORMATS``), and
``<name>.error.json`` while its last attempt failed. ``python -m shared.backfill`` finds the
recordings still to do by these names.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.errors import ThrottledError, TranscriptionError
from shared.output.formats import FORMATS
from shared.output.transcript import SCHEMA as TRANSCRIPT_SCHEMA
from shared.output.transcript import Transcript
from shared.platform import storage

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

log = logging.getLogger(__name__)

#: The suffix of the error record written beside a recording whose last attempt failed.
ERROR_SUFFIX = ".error.json"


def result_names(blob_name: str) -> dict[str, str]:
    """Where the results for an input blob go in the output container: one name per format, and the error."""
    return {**{name: f"{blob_name}.{fmt.extension}" for name, fmt in FORMATS.items()},
            "error": f"{blob_name}{ERROR_SUFFIX}"}


def bare_etag(etag: str | None) -> str:
    """An ETag without its quotes: a listing gives it bare, a blob's properties quoted."""
    return (etag or "").strip('"')


def same_version(recorded: str | None, etag: str) -> bool:
    """Whether a result that records ``recorded`` is about version ``etag`` of its recording.

    The one rule for the door, the listing and the sweep alike. A result with no ETag predates the
    field and is taken to be about the current version.
    """
    return recorded is None or bare_etag(recorded) == bare_etag(etag)


def transcribed_version(out: ContainerClient, names: dict[str, str], etag: str) -> bool:
    """Whether ``<name>.json`` is a transcript made from this very version of the recording.

    Reads the document, so a missing output container is found here, before any Speech session. A document
    there that is not a transcript (an error record, a status document) marks nothing done.
    """
    done = storage.read_json(out, names["json"])
    return (done is not None and done.get("schema") == TRANSCRIPT_SCHEMA
            and same_version((done.get("source") or {}).get("etag"), etag))


def write_results(out: ContainerClient, transcript: Transcript, names: dict[str, str]) -> None:
    """Write ``transcript`` once per format in ``names`` (format → blob name), the JSON last.

    The JSON marks the blob's ETag done, so a failure before it leaves the blob to be retried rather
    than skipped with a result missing. Its metadata repeats that ETag, for listings (``shared.recordings.pending``).
    """
    etag = str(transcript.source.get("etag") or "")
    for fmt in [f for f in names if f != "json"] + ["json"]:
        output = FORMATS[fmt]
        storage.write_text(out, names[fmt], output.render(transcript), output.content_type,
                           metadata={"etag": _metadata_text(etag)} if fmt == "json" and etag else None)


@dataclass(frozen=True)
class Tries:
    """How often one version of a recording has been tried, as its error record counts.

    ``attempt`` counts every try; ``deliveries`` the tries the host's event made (it stops at
    ``MAX_DELIVERIES``); ``faults`` the failed tries that count toward ``MAX_ATTEMPTS``: throttling
    (the quota was full) is a wait for capacity, not a fault, and does not.
    """

    attempt: int = 0
    deliveries: int = 0
    faults: int = 0

    def next(self, *, by_event: bool) -> Tries:
        """The counts for the try about to start."""
        return replace(self, attempt=self.attempt + 1, deliveries=self.deliveries + by_event)

    def failed(self, error: TranscriptionError) -> Tries:
        """The counts once this try failed with ``error``."""
        return replace(self, faults=self.faults + (error.code != ThrottledError.code))


def previous_tries(out: ContainerClient, error_name: str, etag: str) -> Tries:
    """What the error record counts for this very version of the blob (nothing for a new version)."""
    previous = storage.read_json(out, error_name)
    if previous is None or not same_version(previous.get("etag"), etag):
        return Tries()
    attempt = int(previous.get("attempt", 0))
    return Tries(attempt, int(previous.get("deliveries", attempt)), int(previous.get("faults", attempt)))


def record_error(out: ContainerClient, name: str, error: TranscriptionError, *, etag: str, tries: Tries) -> None:
    """Write the error record ``name``; a failure to write it (storage or its identity) is logged, the
    original error matters more.

    Its metadata repeats what a listing needs (``shared.recordings.pending``): the code, whether it was transient,
    the counts and when, so finding what to retry reads no document.
    """
    body = {
        **error.to_dict(),
        "transient": error.transient,
        "etag": etag,
        "attempt": tries.attempt,
        "deliveries": tries.deliveries,
        "faults": tries.faults,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata = {"code": error.code, "transient": str(error.transient).lower(), "attempt": str(tries.attempt),
                "faults": str(tries.faults), "etag": _metadata_text(etag), "at": body["at"]}
    try:
        storage.write_text(out, name, json.dumps(body, indent=2), "application/json", metadata=metadata)
    except TranscriptionError as exc:
        log.error("could not write %s: %s: %s", name, exc.code, exc.message)


def _metadata_text(value: str) -> str:
    """``value`` as blob metadata allows it (ASCII; an ETag's quotes are fine)."""
    return value.encode("ascii", "replace").decode("ascii")
