"""The one transcription path, and the two doors into it (a blob in the input container, an HTTP body).

``transcribe_audio`` turns a readable stream into a ``Transcript``: open and check the audio (any
format ``shared.audio`` decodes), fetch a token for this invocation, run one ``SpeechSession`` (one per
channel with ``CHANNEL_MODE=separate``), let everything go. ``handle_blob`` wraps it with
what the blob door needs: idempotency per ETag, results next to the audio, ``.error.json`` on
failure, and the permanent/transient split that decides whether the host retries.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from shared import allocator, storage
from shared.audio import MIN_SECONDS, AudioDecoder
from shared.blob_reader import BlobReader
from shared.errors import AudioTooLargeError, JobNotFoundError, StorageError, TranscriptionError
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


def transcribe_audio(settings: Settings, stream: BinaryIO, source: dict[str, object],
                     on_progress: Callable[[float, float | None], None] | None = None) -> Transcript:
    """Transcribe a recording in any supported format; raises a ``TranscriptionError`` subclass on failure.

    ``stream`` should be seekable (a ``BlobReader``, an HTTP body, a local file): m4a/mp4/3gp files
    with their index at the end cannot be read front to back. Limits and bad input fail before any
    token is fetched; audio too short to transcribe gives a transcript with a warning and no session.
    ``on_progress(seconds_done, seconds_total)`` follows the recognition (total: the declared length).
    """
    started = time.monotonic()
    allocator.return_large_buffers_to_os()
    size = _stream_size(stream)
    if size is not None and size > settings.max_audio_bytes:
        raise AudioTooLargeError(f"the audio is {size} bytes; the limit is {settings.max_audio_bytes} bytes "
                                 "(MAX_AUDIO_BYTES)")
    with AudioDecoder(stream, channel_mode=settings.channel_mode,
                      max_seconds=settings.max_audio_minutes * 60) as decoder:
        found = decoder.found
        log.info("audio: %s, %d Hz, %d channel(s), %s; channel mode %s", found.format, found.sample_rate,
                 found.channels, "no declared length" if found.declared_seconds is None else
                 f"declares {found.declared_seconds:.1f} s", decoder.channel_mode)
        notes: list[str] = []
        if decoder.ended and decoder.seconds_decoded < MIN_SECONDS:
            segments, token_seconds = [], 0.0
            notes.append("the audio has no samples" if not decoder.samples_out else
                         f"the audio is {decoder.seconds_decoded:.2f} s long, too short to transcribe")
        else:
            token = fetch_token(settings)
            token_seconds = time.monotonic() - started
            from shared.speech_session import transcribe  # loads the native SDK: keep off the import path

            progress = None if on_progress is None else (lambda done: on_progress(done, found.declared_seconds))
            segments = transcribe(settings, token, decoder.readers, progress)
            del token
            if not segments:
                notes.append("no speech was recognised")
        decoded = round(decoder.seconds_decoded, 3)
        warnings = decoder.warnings() + notes
        channel_mode = decoder.channel_mode
    total = time.monotonic() - started
    return Transcript(
        source=source,
        language=settings.speech_language,
        audio=AudioInfo(
            format=found.format,
            sample_rate=found.sample_rate,
            channels=found.channels,
            bits_per_sample=found.bits_per_sample,
            duration_seconds=decoded,
            container=found.container,
            codec=found.codec,
            declared_duration_seconds=found.declared_seconds,
            decoded_duration_seconds=decoded,
            channel_mode=channel_mode,
        ),
        segments=segments,
        timings={"token_seconds": round(token_seconds, 3), "total_seconds": round(total, 3)},
        warnings=warnings,
    )


def _stream_size(stream: BinaryIO) -> int | None:
    """The stream's length without reading it, when it can tell (a seekable stream)."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
        return end
    except (AttributeError, OSError, ValueError):
        return None


def result_names(blob_name: str) -> dict[str, str]:
    """Where the results for an input blob go in the output container: one name per format, and the error."""
    from shared.subtitles import FORMATS

    return {**{name: f"{blob_name}.{fmt.extension}" for name, fmt in FORMATS.items()},
            "error": f"{blob_name}.error.json"}


#: Deliveries of one event before the host gives up on it (``host.json``: ``poisonBlobThreshold``);
#: a job still failing transiently on the last one is marked failed rather than left running.
MAX_DELIVERIES = 5


def handle_blob(blob: BlobClient, settings: Settings | None = None, *, collect_garbage: bool = True) -> BlobOutcome:
    """Transcribe one input blob and write its results; the blob-trigger function's whole body.

    Transient errors are re-raised after ``.error.json`` is written, so the host retries the event;
    permanent ones are recorded and swallowed. The audio is never deleted or changed. A blob named
    ``jobs/<id>.<ext>`` is a job's audio (``shared.jobs``): its status document follows along.
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
    written = {fmt: names[fmt] for fmt in settings.output_formats}
    # Every storage call goes through this invocation's own clients (one token, closed at the end).
    # The binding's client is used for its container and blob names only: the blob extension builds
    # it with a credential of its own that is never closed, so it is never asked to fetch a token.
    with storage.connect(settings) as clients:
        audio = clients.blobs.get_blob_client(blob.container_name, name)
        try:
            props = audio.get_blob_properties()
        except ResourceNotFoundError:
            log.warning("input blob %s is gone; nothing to do", name)
            return BlobOutcome("skipped", name)
        except AzureError as exc:
            raise storage.storage_error(f"reading the properties of {name}", exc) from None
        etag = props.etag
        out = clients.blobs.get_container_client(settings.output_container)
        job = _JobTracker.for_blob(clients, settings, name)
        done = storage.read_json(out, names["json"])
        if done and done.get("source", {}).get("etag") == etag:
            log.info("%s (etag %s) already transcribed; skipping the redelivered event", name, etag)
            if job:
                job.succeeded(written)  # no change if it already was; finishes it if a crash came between
            return BlobOutcome("skipped", name)
        if job and not job.start():
            return BlobOutcome("skipped", name)
        previous_error = storage.read_json(out, names["error"]) or {}
        attempt = previous_error.get("attempt", 0) + 1 if previous_error.get("etag") == etag else 1
        source = {"container": blob.container_name, "name": name, "etag": etag, "size": props.size}
        log.info("transcribing %s (%d bytes, attempt %d)", name, props.size, attempt)
        try:
            reader = BlobReader(audio, etag=etag, size=props.size)
            try:
                transcript = transcribe_audio(settings, reader, source, on_progress=job.progress if job else None)
            finally:
                log.info("%s: fetched %d of %d bytes in %d range requests", name, reader.bytes_fetched,
                         props.size, reader.requests)
        except TranscriptionError as error:
            _record_error(out, names["error"], error, etag=etag, attempt=attempt)
            if job and (not error.transient or attempt >= MAX_DELIVERIES):
                job.failed(error)
            if error.transient:
                raise
            log.warning("%s failed permanently: %s", name, error.message)
            return BlobOutcome("failed", name, error=error)
        # The JSON goes last: it is what marks this ETag as done, so a failure before it leaves
        # the blob to be retried rather than skipped with a result missing.
        from shared.subtitles import FORMATS

        for fmt in [f for f in written if f != "json"] + ["json"]:
            storage.write_text(out, written[fmt], FORMATS[fmt].render(transcript), FORMATS[fmt].content_type)
        storage.delete_if_exists(out, names["error"])
        log.info("%s: %d segments, %d speakers, %.1f s of audio", name, len(transcript.segments),
                 len(transcript.speakers), transcript.audio.duration_seconds)
        if job:
            job.succeeded(written)
        return BlobOutcome("transcribed", name, transcript=transcript)


class _JobTracker:
    """Moves a job's status document along with the blob path (``shared.jobs``); one per invocation.

    Progress is written at most every ``JOB_PROGRESS_SECONDS`` (each write is a storage request) and
    is best effort: a failed progress write is logged, never allowed to fail the transcription.
    """

    def __init__(self, store, job_id: str, interval: float) -> None:
        self.store, self.job_id, self.interval = store, job_id, interval
        self._lock = threading.Lock()
        self._last = time.monotonic()

    @classmethod
    def for_blob(cls, clients, settings: Settings, name: str) -> _JobTracker | None:
        from shared import jobs

        job_id = jobs.job_id_from_blob_name(name)
        if job_id is None:
            return None
        return cls(jobs.store_for(clients, settings), job_id, settings.job_progress_seconds)

    def start(self) -> bool:
        """Mark the job running; ``False`` when it already finished (or has no status: work as a plain blob)."""
        from shared import jobs

        try:
            job = jobs.start_job(self.store, self.job_id)
        except JobNotFoundError:
            log.warning("job %s has no status document; transcribing its audio as a plain blob", self.job_id)
            self.store = None
            return True
        if job.terminal:
            log.info("job %s already %s; skipping the redelivered event", self.job_id, job.status)
            return False
        return True

    def progress(self, seconds_done: float, seconds_total: float | None) -> None:
        from shared import jobs

        now = time.monotonic()
        with self._lock:
            if self.store is None or now - self._last < self.interval:
                return
            self._last = now
        try:
            jobs.report_progress(self.store, self.job_id, seconds_done, seconds_total)
        except TranscriptionError as exc:
            log.warning("job %s: progress not recorded: %s", self.job_id, exc.message)

    def succeeded(self, results: dict[str, str]) -> None:
        from shared import jobs

        if self.store is None:
            return
        try:
            jobs.finish_job(self.store, self.job_id, results=results)
        except JobNotFoundError:  # DELETE came while it ran: take the results it just wrote too
            log.info("job %s was deleted while it ran; removing its results", self.job_id)
            for name in results.values():
                storage.delete_if_exists(self.store.results, name)

    def failed(self, error: TranscriptionError) -> None:
        from shared import jobs

        if self.store is not None:
            try:
                jobs.finish_job(self.store, self.job_id, error=error)
            except JobNotFoundError:
                log.info("job %s was deleted while it ran", self.job_id)
            except TranscriptionError as exc:  # the original error matters more than this one
                log.error("job %s: could not record its failure: %s", self.job_id, exc.message)


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
