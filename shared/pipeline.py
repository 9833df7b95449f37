"""The one transcription path, and the two doors into it (a blob in the input container, an HTTP body).

``transcribe_audio`` turns a readable stream into a ``Transcript``: validate the audio, fetch a token
for this invocation, run one ``SpeechSession``, let everything go. ``handle_blob`` wraps it with
what the blob door needs: idempotency per ETag, results next to the audio, ``.error.json`` on
failure, and the permanent/transient split that decides whether the host retries.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from shared import storage
from shared.audio import PcmReader
from shared.errors import StorageError, TranscriptionError
from shared.settings import Settings
from shared.token import fetch_token
from shared.transcript import AudioInfo, Transcript

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlobOutcome:
    """What ``handle_blob`` did: ``transcribed``, ``skipped`` (already done for this ETag) or ``failed``."""

    status: str
    name: str
    transcript: Transcript | None = None
    error: TranscriptionError | None = None


def transcribe_audio(settings: Settings, stream: BinaryIO, source: dict[str, object]) -> Transcript:
    """Transcribe a WAV stream; raises a ``TranscriptionError`` subclass on any failure."""
    started = time.monotonic()
    pcm = PcmReader(stream)  # bad audio fails here, before any token is fetched
    warnings: list[str] = []
    if pcm.format.data_bytes == 0:
        segments = []
        warnings.append("the audio has no samples")
        token_seconds = 0.0
    else:
        token = fetch_token(settings)
        token_seconds = time.monotonic() - started
        from shared.speech_session import SpeechSession  # loads the native SDK: keep off the import path

        with SpeechSession(settings, token, pcm) as session:
            segments = session.run()
        del token
    if pcm.truncated:
        warnings.append(
            f"the file ends early: the header declares {pcm.format.declared_seconds:.1f} s, "
            f"{pcm.seconds_read:.1f} s were read"
        )
    if not segments and pcm.mono_bytes:
        warnings.append("no speech was recognised")
    fmt = pcm.format
    total = time.monotonic() - started
    return Transcript(
        source=source,
        language=settings.speech_language,
        audio=AudioInfo(
            format="wav/pcm",
            sample_rate=fmt.sample_rate,
            channels=fmt.channels,
            bits_per_sample=fmt.bits_per_sample,
            duration_seconds=round(pcm.seconds_read, 3),
        ),
        segments=segments,
        timings={"token_seconds": round(token_seconds, 3), "total_seconds": round(total, 3)},
        warnings=warnings,
    )


def result_names(blob_name: str) -> dict[str, str]:
    """Where the results for an input blob go in the output container."""
    return {"json": f"{blob_name}.json", "txt": f"{blob_name}.txt", "error": f"{blob_name}.error.json"}


def handle_blob(blob: BlobClient, settings: Settings | None = None, *, collect_garbage: bool = True) -> BlobOutcome:
    """Transcribe one input blob and write its results; the blob-trigger function's whole body.

    Transient errors are re-raised after ``.error.json`` is written, so the host retries the event;
    permanent ones are recorded and swallowed. The audio is never deleted or changed.
    """
    try:
        settings = settings or Settings.from_env()
        return _handle_blob(blob, settings)
    finally:
        if collect_garbage:
            # Fix 3A: the SDK's objects hold native handles behind Python reference cycles; collect
            # them now, while this invocation pays, not at a random later allocation.
            gc.collect()


def _handle_blob(blob: BlobClient, settings: Settings) -> BlobOutcome:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    name = blob.blob_name
    names = result_names(name)
    # Every storage call goes through this invocation's own client (one token, closed at the end).
    # The binding's client is used for its container and blob names only: the blob extension builds
    # it with a credential of its own that is never closed, so it is never asked to fetch a token.
    with storage.blob_service(settings) as service:
        audio = service.get_blob_client(blob.container_name, name)
        try:
            props = audio.get_blob_properties()
        except ResourceNotFoundError:
            log.warning("input blob %s is gone; nothing to do", name)
            return BlobOutcome("skipped", name)
        except AzureError as exc:
            raise storage.storage_error(f"reading the properties of {name}", exc) from None
        etag = props.etag
        out = service.get_container_client(settings.output_container)
        done = storage.read_json(out, names["json"])
        if done and done.get("source", {}).get("etag") == etag:
            log.info("%s (etag %s) already transcribed; skipping the redelivered event", name, etag)
            return BlobOutcome("skipped", name)
        previous_error = storage.read_json(out, names["error"]) or {}
        attempt = previous_error.get("attempt", 0) + 1 if previous_error.get("etag") == etag else 1
        source = {"container": blob.container_name, "name": name, "etag": etag, "size": props.size}
        log.info("transcribing %s (%d bytes, attempt %d)", name, props.size, attempt)
        try:
            reader = storage.BlobRangeReader(audio, etag=etag, size=props.size)
            transcript = transcribe_audio(settings, reader, source)
        except TranscriptionError as error:
            _record_error(out, names["error"], error, etag=etag, attempt=attempt)
            if error.transient:
                raise
            log.warning("%s failed permanently: %s", name, error.message)
            return BlobOutcome("failed", name, error=error)
        # The JSON goes last: it is what marks this ETag as done, so a failure before it leaves
        # the blob to be retried rather than skipped with a result missing.
        storage.write_text(out, names["txt"], transcript.to_text(), "text/plain")
        storage.write_text(out, names["json"], transcript.to_json(), "application/json")
        storage.delete_if_exists(out, names["error"])
        log.info("%s: %d segments, %d speakers, %.1f s of audio", name, len(transcript.segments),
                 len(transcript.speakers), transcript.audio.duration_seconds)
        return BlobOutcome("transcribed", name, transcript=transcript)


def _record_error(out, name: str, error: TranscriptionError, *, etag: str, attempt: int) -> None:
    body = {
        **error.to_dict(),
        "transient": error.transient,
        "etag": etag,
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        storage.write_text(out, name, json.dumps(body, indent=2), "application/json")
    except StorageError as exc:  # the original error matters more than this one
        log.error("could not write %s: %s", name, exc)
