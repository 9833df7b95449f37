"""What the blob door writes beside each recording in the output container, and under which names:
``<name>.json`` (written last: it marks that version of the blob done), the other ``OUTPUT_FORMATS``, and
``<name>.error.json`` while its last try failed.
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

ERROR_SUFFIX = ".error.json"
#: A batch transcription submitted for the recording and not yet finished (``shared.batch.records``).
BATCH_SUFFIX = ".batch.json"


def result_names(blob_name: str) -> dict[str, str]:
    """Where the results for an input blob go in the output container: one name per format, the error, and a
    batch submission's record."""
    return {
        **{name: f"{blob_name}.{fmt.extension}" for name, fmt in FORMATS.items()},
        "error": f"{blob_name}{ERROR_SUFFIX}",
        "batch": f"{blob_name}{BATCH_SUFFIX}",
    }


def bare_etag(etag: str | None) -> str:
    """An ETag without its quotes: a listing gives it bare, a blob's properties quoted."""
    return (etag or "").strip('"')


def same_version(recorded: str | None, etag: str) -> bool:
    """Whether a result that records ``recorded`` is about version ``etag`` of its recording (the one rule;
    a result with no ETag predates the field, so counts as current)."""
    return recorded is None or bare_etag(recorded) == bare_etag(etag)


def transcribed_version(out: ContainerClient, names: dict[str, str], etag: str) -> bool:
    """Whether ``<name>.json`` is a transcript of this very version; read, so a missing output container is
    found before any Speech session."""
    done = storage.read_json(out, names["json"])
    return (
        done is not None
        and done.get("schema") == TRANSCRIPT_SCHEMA
        and same_version((done.get("source") or {}).get("etag"), etag)
    )


def write_results(out: ContainerClient, transcript: Transcript, names: dict[str, str]) -> None:
    """Write ``transcript`` once per format in ``names`` (format → blob name), the JSON last: it marks the ETag
    done (in its metadata too, for listings), so a failure before it leaves the blob to be retried."""
    etag = str(transcript.source.get("etag") or "")
    for fmt in [f for f in names if f != "json"] + ["json"]:
        output = FORMATS[fmt]
        storage.write_text(
            out,
            names[fmt],
            output.render(transcript),
            output.content_type,
            metadata={"etag": metadata_text(etag)} if fmt == "json" and etag else None,
        )


@dataclass(frozen=True)
class Tries:
    """How often one version of a recording has been tried: every try, the host's deliveries, and the
    ``faults`` that count toward ``MAX_ATTEMPTS`` (throttling is a wait for capacity, not a fault)."""

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
    """Write the error record ``name``, its metadata holding what a listing needs; a failure to write it is
    logged, since the original error matters more."""
    body = {
        **error.to_dict(),
        "transient": error.transient,
        "etag": etag,
        "attempt": tries.attempt,
        "deliveries": tries.deliveries,
        "faults": tries.faults,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata = {
        "code": error.code,
        "transient": str(error.transient).lower(),
        "attempt": str(tries.attempt),
        "faults": str(tries.faults),
        "etag": metadata_text(etag),
        "at": body["at"],
    }
    try:
        storage.write_text(out, name, json.dumps(body, indent=2), "application/json", metadata=metadata)
    except TranscriptionError as exc:
        log.error("could not write %s: %s: %s", name, exc.code, exc.message)


def metadata_text(value: str) -> str:
    """``value`` as blob metadata allows it (ASCII; an ETag's quotes are fine)."""
    return value.encode("ascii", "replace").decode("ascii")
