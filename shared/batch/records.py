"""What this app keeps of a batch transcription it submitted and has not finished, in the output container:

- ``<name>.batch.json`` beside the recording: which version (ETag), which transcription, the tries, and what the
  transcript will need (the audio found, the options). A redelivered event or the sweep finds it and does not
  submit again; its metadata lets a listing see it (``shared.recordings.pending``).
- ``batch-waiting/<transcription id>.json``: the way back from a callback (which names only the transcription)
  to its recording; its metadata says when it was submitted and polled, so the sweep picks what to poll from
  one listing, and the listing's length is the count of transcriptions waiting.

Both go once the transcription has finished, the index first: a record without an index is still polled.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError

from shared.batch.request import parse_id
from shared.platform import storage
from shared.recordings.results import BATCH_SUFFIX, Tries, bare_etag, metadata_text

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

#: The folder of the index in the output container: ``batch-waiting/<transcription id>.json``.
INDEX_PREFIX = "batch-waiting/"
_INDEX_NAME = re.compile(rf"{INDEX_PREFIX}([0-9a-f-]{{36}})\.json")


@dataclass(frozen=True)
class Submission:
    """One submitted transcription of one version of a recording."""

    transcription: str
    etag: str
    submitted_at: str
    tries: Tries
    source: dict[str, object]
    audio: dict[str, object]  # the AudioFound fields and the channel mode, as the submission saw them
    options: dict[str, object]  # RecognitionOptions.to_dict()
    token_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict) -> Submission:
        return cls(**{**body, "tries": Tries(**body["tries"])})


@dataclass(frozen=True)
class Waiting:
    """An index entry: a transcription waiting to be finished, and when it was submitted and last polled."""

    transcription: str
    submitted_at: datetime | None
    polls: int = 0
    polled_at: datetime | None = None


def record_name(name: str) -> str:
    return f"{name}{BATCH_SUFFIX}"


def index_name(transcription_id: str) -> str:
    return f"{INDEX_PREFIX}{parse_id(transcription_id)}.json"


def id_from_index_name(name: str) -> str | None:
    """The transcription an index blob is named for, or ``None`` (a name ``input_names`` must refuse)."""
    found = _INDEX_NAME.fullmatch(name)
    return found.group(1) if found else None


def write(out: ContainerClient, name: str, submission: Submission) -> None:
    """The record beside the recording, then its index entry."""
    stamp = submission.submitted_at
    storage.write_text(
        out,
        record_name(name),
        json.dumps(submission.to_dict(), indent=2, ensure_ascii=False),
        "application/json",
        metadata={
            "transcription": submission.transcription,
            "etag": metadata_text(submission.etag),
            "submitted": stamp,
        },
    )
    entry = {"recording": name, "etag": submission.etag}
    storage.write_text(
        out,
        index_name(submission.transcription),
        json.dumps(entry, ensure_ascii=False),
        "application/json",
        metadata={"submitted": stamp, "polls": "0"},
    )


def read(out: ContainerClient, name: str) -> Submission | None:
    """The recording's record, or ``None`` (none, or not one this code wrote)."""
    body = storage.read_json(out, record_name(name))
    try:
        return None if body is None else Submission.from_dict(body)
    except (TypeError, KeyError):
        return None


def current(out: ContainerClient, name: str, etag: str) -> Submission | None:
    """The record if it is about version ``etag`` of the recording."""
    found = read(out, name)
    return found if found is not None and bare_etag(found.etag) == bare_etag(etag) else None


def recording_of(out: ContainerClient, transcription_id: str) -> str | None:
    """The recording a transcription was submitted for, from the index; ``None`` for one not listed."""
    body = storage.read_json(out, index_name(transcription_id))
    recording = body.get("recording") if isinstance(body, dict) else None
    return recording if isinstance(recording, str) else None


def forget(out: ContainerClient, name: str, transcription_id: str) -> None:
    """Drop the index entry, then the record (if it is still about this transcription)."""
    storage.delete_if_exists(out, index_name(transcription_id))
    found = read(out, name)
    if found is None or found.transcription == transcription_id:
        storage.delete_if_exists(out, record_name(name))


def note_poll(out: ContainerClient, waiting: Waiting, now: datetime) -> Waiting:
    """Count one poll that found the transcription still running (for the sweep's backoff)."""
    noted = replace(waiting, polls=waiting.polls + 1, polled_at=now)
    metadata = {"polls": str(noted.polls), "polled": now.isoformat(timespec="seconds")}
    if waiting.submitted_at is not None:
        metadata["submitted"] = waiting.submitted_at.isoformat(timespec="seconds")
    try:
        out.get_blob_client(index_name(waiting.transcription)).set_blob_metadata(metadata)
    except AzureError as exc:
        raise storage.storage_error(f"noting a poll of {waiting.transcription}", exc) from None
    return noted


def waiting(out: ContainerClient) -> list[Waiting]:
    """Every transcription in the index, from its listing."""
    try:
        blobs = list(out.list_blobs(name_starts_with=INDEX_PREFIX, include=["metadata"]))
    except AzureError as exc:
        raise storage.storage_error("listing the batch transcriptions waiting", exc) from None
    found = []
    for blob in blobs:
        transcription = id_from_index_name(blob.name)
        if transcription is not None:
            metadata = blob.metadata or {}
            polls = metadata.get("polls", "0")
            found.append(
                Waiting(
                    transcription,
                    _time(metadata.get("submitted")) or blob.last_modified,
                    int(polls) if polls.isdigit() else 0,
                    _time(metadata.get("polled")),
                )
            )
    return found


def count_waiting(out: ContainerClient) -> int:
    """How many transcriptions the index lists: names only, no metadata."""
    try:
        return sum(1 for blob in out.list_blob_names(name_starts_with=INDEX_PREFIX) if id_from_index_name(blob))
    except AzureError as exc:
        raise storage.storage_error("counting the batch transcriptions waiting", exc) from None


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
