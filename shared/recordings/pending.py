"""Where each recording in the input container stands, from the two containers' listings alone.

One answer for the sweep, ``python -m shared.backfill`` and ``python -m shared.status``. A recording is
``transcribed`` (``<name>.json`` is from this version), ``submitted`` (with batch transcription: a callback or
the sweep's poll finishes it), ``failed`` (a permanent error for this version: it waits for the blob to be
replaced), ``retrying`` (its last try failed transiently), ``waiting`` (never tried, or its error is about an
older version) or ``refused`` (``shared.recordings.input_names``: never transcribed, whatever its records say).
``retrying`` and ``waiting`` are *pending*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import AzureError

from shared.platform import storage
from shared.recordings.input_names import refusal
from shared.recordings.results import bare_etag, result_names, same_version
from shared.settings import Settings

TRANSCRIBED, SUBMITTED, FAILED = "transcribed", "submitted", "failed"
RETRYING, WAITING, REFUSED = "retrying", "waiting", "refused"


@dataclass(frozen=True)
class LastError:
    """What ``<name>.error.json`` says of the last try, from its metadata."""

    code: str
    transient: bool
    attempt: int
    faults: int
    at: datetime | None


@dataclass(frozen=True)
class Recording:
    """An input blob and where it stands."""

    name: str
    etag: str
    last_modified: datetime | None
    state: str
    error: LastError | None  # the error record about this version, if there is one

    @property
    def pending(self) -> bool:
        return self.state in (RETRYING, WAITING)


def scan(settings: Settings, prefix: str | None = None) -> list[Recording]:
    """Every input blob (under ``prefix``) with where it stands, in listing order."""
    with storage.blob_service(settings) as service:
        inputs = service.get_container_client(settings.input_container)
        outputs = service.get_container_client(settings.output_container)
        try:
            results = {
                b.name: b.metadata or {} for b in outputs.list_blobs(name_starts_with=prefix, include=["metadata"])
            }
            return [_recording(blob, results) for blob in inputs.list_blobs(name_starts_with=prefix)]
        except AzureError as exc:
            raise storage.storage_error("listing the recordings and their results", exc) from None


def pending_recordings(settings: Settings, prefix: str | None = None) -> list[Recording]:
    """The recordings that still need a transcript and are worth a try."""
    return [recording for recording in scan(settings, prefix) if recording.pending]


def pending(settings: Settings, prefix: str | None = None) -> list[str]:
    """The names of ``pending_recordings``."""
    return [recording.name for recording in pending_recordings(settings, prefix)]


def counts(recordings: list[Recording]) -> dict[str, int]:
    """How many recordings are in each state (every state named, zeros included)."""
    found = Counter(recording.state for recording in recordings)
    return {state: found.get(state, 0) for state in (TRANSCRIBED, SUBMITTED, WAITING, RETRYING, FAILED, REFUSED)}


def _recording(blob, results: dict[str, dict[str, str]]) -> Recording:
    names = result_names(blob.name)
    etag = bare_etag(blob.etag)
    done = results.get(names["json"])
    error = _last_error(results.get(names["error"]), etag)
    if refusal(blob.name) is not None:  # first: its "transcript" may be another recording's result
        state = REFUSED
    elif done is not None and same_version(done.get("etag"), etag):
        state = TRANSCRIBED
    elif _submitted(results.get(names["batch"]), etag):
        state = SUBMITTED
    elif error is None:
        state = WAITING
    else:
        state = RETRYING if error.transient else FAILED
    return Recording(blob.name, etag, blob.last_modified, state, error)


def _submitted(metadata: dict[str, str] | None, etag: str) -> bool:
    """Whether a batch submission's record is about version ``etag`` (one with no ETag is no record of ours)."""
    return metadata is not None and bool(metadata.get("etag")) and same_version(metadata["etag"], etag)


def _last_error(metadata: dict[str, str] | None, etag: str) -> LastError | None:
    """The error record's metadata, if it is about version ``etag`` (older records: a transient error)."""
    if metadata is None or not same_version(metadata.get("etag"), etag):
        return None
    try:
        at = datetime.fromisoformat(metadata["at"]) if metadata.get("at") else None
    except ValueError:
        at = None
    attempt = _count(metadata.get("attempt"), 1)
    return LastError(
        code=metadata.get("code", ""),
        transient=metadata.get("transient", "true") != "false",
        attempt=attempt,
        faults=_count(metadata.get("faults"), attempt),
        at=at,
    )


def _count(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
