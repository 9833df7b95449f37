"""The blob door: one recording in the input container in, its results beside it in the output container.

``handle_blob`` is the blob trigger's body, and what the sweep and ``python -m shared.backfill`` run per
recording. Around ``shared.pipeline.transcribe_audio`` it adds what a door knocked on more than once, by
more than one worker, needs: nothing redone for a version already transcribed (its ETag), colliding names
refused, one worker at a time, failures recorded with the audio untouched, transient ones given back to
the host until its last delivery and then left to the sweep (``docs/recovery.md``), and one log line.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared.batch import records
from shared.errors import ConfigurationError, JobFinishedError, NameRefusedError, TranscriptionError
from shared.jobs.tracker import GONE, JobTracker
from shared.options import OPTION_NAMES, RecognitionOptions, parse_document, parse_text
from shared.options.declared import BATCH
from shared.output.transcript import Transcript
from shared.pipeline import transcribe_audio
from shared.platform import storage
from shared.platform.blob_reader import BlobReader
from shared.platform.retry_policy import MAX_DELIVERIES
from shared.recordings.claims import claim
from shared.recordings.input_names import record_fits, refused_error
from shared.recordings.invocation_log import InvocationRecord
from shared.recordings.results import (
    Tries,
    previous_tries,
    record_error,
    result_names,
    transcribed_version,
    write_results,
)
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobProperties

log = logging.getLogger(__name__)

#: Who knocked: the host delivering the blob's event, or a later retry (the sweep, the operator).
EVENT, RETRY = "event", "retry"


@dataclass(frozen=True)
class BlobOutcome:
    """What ``handle_blob`` did: ``transcribed``, ``submitted`` (to batch transcription), ``skipped`` (done,
    gone, or being done), ``failed``, or ``removed`` (a job's audio with no job to go to)."""

    status: str
    name: str
    transcript: Transcript | None = None
    error: TranscriptionError | None = None


def handle_blob(
    blob: BlobClient,
    settings: Settings | None = None,
    *,
    collect_garbage: bool = True,
    via: str = EVENT,
    invocation_id: str | None = None,
) -> BlobOutcome:
    """Transcribe one input blob and write its results. With ``via=EVENT`` a transient error is raised for
    the host to deliver again (but on its last delivery); with ``RETRY`` it is only recorded."""
    record = InvocationRecord(blob=blob.blob_name, invocation_id=invocation_id, via=via)
    try:
        outcome = _handle(blob, settings, via, record)
        record.outcome = outcome.status
        record.code = outcome.error.code if outcome.error else None
        return outcome
    except TranscriptionError as error:
        record.outcome, record.code = "retry", error.code
        raise
    finally:
        if collect_garbage:  # the SDK's native handles sit behind reference cycles: freed while this invocation pays
            gc.collect()
        record.write()


def _handle(blob: BlobClient, settings: Settings | None, via: str, record: InvocationRecord) -> BlobOutcome:
    name = blob.blob_name
    try:
        settings = settings or Settings.from_env()
    except ConfigurationError as error:  # no settings, so nowhere to record it: the log says why
        log.error("%s: %s (nothing written; the sweep tries again once the settings are fixed)", name, error.message)
        return BlobOutcome("failed", name, error=error)
    # The binding's client gives only the names: the extension built it with a credential it never closes,
    # so every storage call goes through this invocation's own clients.
    try:
        with storage.connect(settings) as clients:
            return _Delivery(clients, blob.container_name, name, settings, via, record).run()
    except TranscriptionError as error:  # before anything could be recorded: storage or a setting
        if error.transient and via == EVENT:
            raise
        log.error("%s: %s: %s (nothing written; tried again later)", name, error.code, error.message)
        return BlobOutcome("failed", name, error=error)


class _Delivery:
    """The door's steps for one try of one recording."""

    def __init__(
        self,
        clients: storage.StorageClients,
        container: str,
        name: str,
        settings: Settings,
        via: str,
        record: InvocationRecord,
    ) -> None:
        self.name, self.settings, self.via, self.record = name, settings, via, record
        self.inputs = clients.blobs.get_container_client(container)
        self.audio = self.inputs.get_blob_client(name)
        self.out = clients.blobs.get_container_client(settings.output_container)
        self.names = result_names(name)
        self.written = {fmt: self.names[fmt] for fmt in settings.output_formats}
        self.job = JobTracker.for_blob(clients, settings, name)

    def run(self) -> BlobOutcome:
        props = _properties(self.audio)
        if props is None:  # deleted since its event was sent: a stale error record goes too
            storage.delete_if_exists(self.out, self.names["error"])
            return BlobOutcome("skipped", self.name)
        refused = refused_error(self.name)
        if refused is not None:  # before its "transcript" is read: it could be another recording's result
            return self._refused(refused, props.etag)
        if transcribed_version(self.out, self.names, props.etag):  # also proves the output container is there
            log.info("%s (etag %s) already transcribed; skipping the redelivered event", self.name, props.etag)
            if self.job:
                self.job.succeeded(self.written)  # no change if it already was; finishes it if a crash came between
            storage.delete_if_exists(self.out, self.names["error"])  # left by a failure after the results
            return BlobOutcome("skipped", self.name)
        with claim(self.out, self.name) as mine:
            if not mine:
                log.info("%s is being transcribed by another worker; skipping", self.name)
                return BlobOutcome("skipped", self.name)
            return self._claimed(props)

    def _claimed(self, props: BlobProperties) -> BlobOutcome:
        """The try itself, this worker holding the recording: unless its holder just did it, or it is with batch
        transcription already (a redelivered event)."""
        if transcribed_version(self.out, self.names, props.etag):  # by the claim's holder, just now
            return BlobOutcome("skipped", self.name)
        if records.current(self.out, self.name, props.etag) is not None:
            log.info("%s (etag %s) is with batch transcription; skipping the redelivered event", self.name, props.etag)
            return BlobOutcome("skipped", self.name)
        tries = previous_tries(self.out, self.names["error"], props.etag).next(by_event=self.via == EVENT)
        self.record.attempt = tries.attempt
        try:
            if self.job and not self.job.start():
                return self._removed() if self.job.abandoned else self._job_already_finished(props.etag, tries)
            outcome = self._attempt(props, tries)
        except TranscriptionError as error:  # a try that failed, at any step: recorded and counted
            outcome = self._failed(error, props.etag, tries.failed(error))
        return self._removed() if self.job and self.job.abandoned else outcome  # deleted while it ran

    def _attempt(self, props: BlobProperties, tries: Tries) -> BlobOutcome:
        options = self._options(props)
        if options.engine == BATCH:
            return self._submit(props, tries, options)
        transcript = self._transcribe(props, tries.attempt, options)
        write_results(self.out, transcript, self.written)
        storage.delete_if_exists(self.out, self.names["error"])
        log.info(
            "%s: %d segments, %d speakers, %.1f s of audio",
            self.name,
            len(transcript.segments),
            len(transcript.speakers),
            transcript.audio.duration_seconds,
        )
        if self.job:
            self.job.succeeded(self.written, transcript.audio.duration_seconds, transcript.engine)
        self.record.audio_seconds = transcript.audio.duration_seconds
        self.record.token_ms = round(1000 * transcript.timings.get("token_seconds", 0.0), 1)
        return BlobOutcome("transcribed", self.name, transcript=transcript)

    def _submit(self, props: BlobProperties, tries: Tries, options: RecognitionOptions) -> BlobOutcome:
        """Batch: the recording submitted by its plain URL and the record kept beside it; the invocation ends
        here, and a callback or the sweep finishes it (``shared.batch``). Its tries travel in the record."""
        from shared.batch.submit import submit_recording

        earlier = records.read(self.out, self.name)  # an older version's transcription: superseded now
        log.info("submitting %s (%d bytes, attempt %d) to batch transcription", self.name, props.size, tries.attempt)
        submitted = submit_recording(
            self.settings,
            BlobReader(self.audio, etag=props.etag, size=props.size),
            self.audio.url.split("?", 1)[0],
            source=self._source(props),
            options=options,
            tries=tries,
            keep=lambda submission: records.write(self.out, self.name, submission),
            superseded=None if earlier is None else earlier.transcription,
        )
        self.record.token_ms = round(1000 * submitted.token_seconds, 1)
        if earlier is not None:
            storage.delete_if_exists(self.out, records.index_name(earlier.transcription))
        storage.delete_if_exists(self.out, self.names["error"])  # its counts go on in the record
        if self.job:
            self.job.on_engine(BATCH)
        return BlobOutcome("submitted", self.name)

    def _job_already_finished(self, etag: str, tries: Tries) -> BlobOutcome:
        """A job's audio that came (again) after its job ended: a permanent record, so no sweep tries it for
        ever; written once (a first try means this version has no record yet)."""
        if tries.attempt == 1:
            error = JobFinishedError(
                f"job {self.job.job_id} is already {self.job.status}; this upload of its "
                "audio was not transcribed (create a new job)"
            )
            record_error(self.out, self.names["error"], error, etag=etag, tries=tries.failed(error))
        return BlobOutcome("skipped", self.name)

    def _refused(self, error: NameRefusedError, etag: str) -> BlobOutcome:
        """Record a refused name's permanent error where its name leaves room for one; log it either way."""
        if record_fits(self.name):
            tries = Tries().next(by_event=self.via == EVENT)
            record_error(self.out, self.names["error"], error, etag=etag, tries=tries)
        log.warning("%s: %s", self.name, error.message)
        return BlobOutcome("failed", self.name, error=error)

    def _removed(self) -> BlobOutcome:
        """Remove a job's abandoned audio and anything written beside it (an expired job's status stays)."""
        why = "has no status document (deleted, or never made)" if self.job.status == GONE else "expired first"
        storage.delete_if_exists(self.inputs, self.name)
        for name in self.names.values():
            storage.delete_if_exists(self.out, name)
        log.warning("job %s %s: its audio %s was removed, not transcribed", self.job.job_id, why, self.name)
        return BlobOutcome("removed", self.name)

    def _options(self, props: BlobProperties) -> RecognitionOptions:
        """What this recording asks for: its job's ``options``, else its blob metadata (other metadata names
        are the user's own), over the app's defaults."""
        mode = self.settings.channel_mode
        if self.job is not None and self.job.options is not None:
            return parse_document(self.job.options, self.settings.recognition, channel_mode=mode)
        given = {key.lower(): value for key, value in (props.metadata or {}).items()}
        return parse_text(
            {key: value for key, value in given.items() if key in OPTION_NAMES},
            self.settings.recognition,
            percent_encoded=True,
            channel_mode=mode,
        )

    def _transcribe(self, props: BlobProperties, attempt: int, options: RecognitionOptions) -> Transcript:
        """The transcription itself, read through ranged downloads pinned to the ETag."""
        source = self._source(props)
        log.info("transcribing %s (%d bytes, attempt %d)", self.name, props.size, attempt)
        reader = BlobReader(self.audio, etag=props.etag, size=props.size)
        try:
            return transcribe_audio(
                self.settings, reader, source, on_progress=self.job.progress if self.job else None, options=options
            )
        finally:
            log.info(
                "%s: fetched %d of %d bytes in %d range requests",
                self.name,
                reader.bytes_fetched,
                props.size,
                reader.requests,
            )

    def _source(self, props: BlobProperties) -> dict[str, object]:
        """What the transcript says it came from."""
        return {"container": self.audio.container_name, "name": self.name, "etag": props.etag, "size": props.size}

    def _failed(self, error: TranscriptionError, etag: str, tries: Tries) -> BlobOutcome:
        """Record the failure (none for a job deleted while it ran); give a transient one back to the host
        while it has deliveries left."""
        if self.job and self.job.gone():
            return BlobOutcome("failed", self.name, error=error)
        record_error(self.out, self.names["error"], error, etag=etag, tries=tries)
        if not error.transient:
            if self.job:
                self.job.failed(error)
            log.warning("%s failed permanently: %s", self.name, error.message)
            return BlobOutcome("failed", self.name, error=error)
        if self.via == EVENT and tries.deliveries < MAX_DELIVERIES:
            raise error  # the host delivers the event again at once
        log.warning("%s: %s on try %d; the sweep tries it again later", self.name, error.code, tries.attempt)
        return BlobOutcome("failed", self.name, error=error)


def _properties(audio: BlobClient) -> BlobProperties | None:
    """The input blob's properties; ``None`` when it is gone (deleted since the event was sent)."""
    try:
        return audio.get_blob_properties()
    except ResourceNotFoundError:
        log.warning("input blob %s is gone; nothing to do", audio.blob_name)
        return None
    except AzureError as exc:
        raise storage.storage_error(f"reading the properties of {audio.blob_name}", exc) from None
