"""Finishing a batch transcription: the one path the service's callback and the sweep's poll both take.

Under the recording's claim, and only for the transcription its record names:

- ``Succeeded``: the result file read into the same ``Transcript`` and formats (the JSON last), the job finished
  (one completion message), then the record dropped and the transcription deleted on the service;
- ``Failed``: an error record, permanent or transient by the service's code, counted as the try it was;
- still running past its time-to-live, or gone from the service: transient, so the sweep submits it again;
- still running: nothing changes.

Anything already done is only tidied, so two callbacks, or a callback and a poll, write the results once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared.batch import client, records
from shared.batch.request import TIME_TO_LIVE_HOURS
from shared.batch.result import batch_result, failure
from shared.errors import ServiceError, SpeechTimeoutError, TranscriptionError
from shared.jobs.model import utc_now
from shared.jobs.tracker import JobTracker
from shared.options import as_written
from shared.options.declared import BATCH
from shared.output.phrases import ends_early
from shared.output.transcript import AudioInfo, Transcript, main_language
from shared.platform import storage
from shared.platform.credentials import fetch_token
from shared.recordings.claims import claim
from shared.recordings.invocation_log import InvocationRecord
from shared.recordings.results import bare_etag, record_error, result_names, transcribed_version, write_results
from shared.settings import Settings

log = logging.getLogger(__name__)

#: What ``finish`` did: results written, an error recorded, still running, nothing (done, stale, or another
#: worker on it), or the service not answered (nothing changed; polled again later).
TRANSCRIBED, FAILED, WAITING, SKIPPED = "transcribed", "failed", "waiting", "skipped"
BUSY, UNANSWERED = "busy", "unanswered"


@dataclass(frozen=True)
class Finished:
    status: str
    name: str | None = None
    error: TranscriptionError | None = None


def finish(settings: Settings, transcription_id: str, *, via: str, now: datetime | None = None) -> Finished | None:
    """Finish the transcription if it is done; ``None`` when this app is not waiting for it (not in the index)."""
    with storage.connect(settings) as clients:
        out = clients.blobs.get_container_client(settings.output_container)
        name = records.recording_of(out, transcription_id)
        if name is None:
            return None
        log_line = InvocationRecord(blob=name, via=via)
        try:
            done = _Finishing(clients, settings, name, transcription_id, now or utc_now(), log_line).run()
        except TranscriptionError as error:  # storage, a token: nothing the service said; tried again later
            log.warning("%s: batch %s not finished: %s: %s", name, transcription_id, error.code, error.message)
            done = Finished(UNANSWERED, name, error)
        log_line.outcome, log_line.code = done.status, done.error.code if done.error else None
        log_line.write()
        return done


class _Finishing:
    """One finish of one recording's transcription."""

    def __init__(self, clients, settings: Settings, name: str, transcription: str, now: datetime, log_line) -> None:
        self.settings, self.name, self.transcription = settings, name, transcription
        self.now, self.log_line = now, log_line
        self.out = clients.blobs.get_container_client(settings.output_container)
        self.audio = clients.blobs.get_container_client(settings.input_container).get_blob_client(name)
        self.names = result_names(name)
        self.job = JobTracker.for_blob(clients, settings, name)

    def run(self) -> Finished:
        etag = self._etag()
        record = records.read(self.out, self.name)
        if etag is None or record is None or record.transcription != self.transcription or _other(record, etag):
            self._tidy()  # the recording is gone, replaced, or on another transcription: this one is no use
            return Finished(SKIPPED, self.name)
        with claim(self.out, self.name) as mine:
            if not mine:
                return Finished(BUSY, self.name)
            record = records.read(self.out, self.name)  # the claim's last holder may have finished it
            if record is None or record.transcription != self.transcription:
                return Finished(SKIPPED, self.name)
            self.log_line.attempt = record.tries.attempt
            if transcribed_version(self.out, self.names, etag):  # results written, the tidying left undone
                if self.job:
                    self.job.succeeded({f: self.names[f] for f in self.settings.output_formats}, engine=BATCH)
                self._tidy()
                return Finished(SKIPPED, self.name)
            return self._with_service(record)

    def _with_service(self, record: records.Submission) -> Finished:
        token = [fetch_token(self.settings)]  # a list, emptied at the end: a kept traceback then holds no token
        try:
            try:
                entity = client.get(self.settings, token[0], self.transcription)
            except TranscriptionError as error:  # the service down or refusing: the submission stays as it is
                return Finished(UNANSWERED, self.name, error)
            if entity is not None and entity.get("status") == "Succeeded":
                return self._succeeded(record, token[0])
            error = self._fault(entity, record)
            return Finished(WAITING, self.name) if error is None else self._failed(record, error, token[0])
        finally:
            token.clear()

    def _fault(self, entity: dict | None, record: records.Submission) -> TranscriptionError | None:
        """Why the transcription will give no transcript (failed, gone, past its time-to-live); ``None`` while
        it still may."""
        what = f"batch transcription {self.transcription}"
        if entity is None:
            return ServiceError(f"{what} is gone from the service (deleted, or past its time-to-live)")
        if entity.get("status") == "Failed":
            return failure(entity, self.transcription)
        if self.now >= _submitted(record) + timedelta(hours=TIME_TO_LIVE_HOURS):
            return SpeechTimeoutError(
                f"{what} did not finish within {TIME_TO_LIVE_HOURS} h of its submission (its time-to-live; "
                f"{entity.get('status')})"
            )
        return None

    def _succeeded(self, record: records.Submission, token: str) -> Finished:
        files = client.result_files(self.settings, token, self.transcription)
        contents = [
            client.read_file(self.settings, f["links"]["contentUrl"])
            for f in files
            if f.get("kind") == "Transcription" and isinstance((f.get("links") or {}).get("contentUrl"), str)
        ]
        transcript = self._transcript(record, contents)
        written = {fmt: self.names[fmt] for fmt in self.settings.output_formats}
        write_results(self.out, transcript, written)
        storage.delete_if_exists(self.out, self.names["error"])
        if self.job:
            self.job.succeeded(written, transcript.audio.duration_seconds, BATCH)
        self.log_line.audio_seconds = transcript.audio.duration_seconds
        log.info("%s: %d segments from batch transcription %s", self.name, len(transcript.segments), self.transcription)
        self._tidy(token)
        return Finished(TRANSCRIBED, self.name)

    def _transcript(self, record: records.Submission, contents: list[dict]) -> Transcript:
        options = as_written(record.options)
        mode = str(record.audio.get("channel_mode") or "mix")
        result = batch_result(contents, options, mode)
        heard = round(result.seconds, 3)
        audio = AudioInfo(**{**record.audio, "duration_seconds": heard, "decoded_duration_seconds": heard})
        warnings = ends_early(audio.declared_duration_seconds, heard)
        warnings += [] if result.segments else ["no speech was recognised"]
        total = (self.now - _submitted(record)).total_seconds()
        return Transcript(
            source=record.source,
            language=main_language(result.segments, options.languages[0]),
            audio=audio,
            segments=result.segments,
            timings={"token_seconds": record.token_seconds, "total_seconds": round(max(total, 0.0), 3)},
            warnings=warnings,
            options=options,
            engine=BATCH,
        )

    def _failed(self, record: records.Submission, error: TranscriptionError, token: str) -> Finished:
        """The try the submission was, failed: recorded (the counts go on from the record's), the job failed
        when it is permanent; a transient one is the sweep's to submit again."""
        tries = record.tries.failed(error)
        record_error(self.out, self.names["error"], error, etag=record.etag, tries=tries)
        if self.job and not error.transient:
            self.job.failed(error)
        log.warning("%s: %s (try %d)", self.name, error.message, tries.attempt)
        self._tidy(token)
        return Finished(FAILED, self.name, error)

    def _tidy(self, token: str | None = None) -> None:
        """Drop the index entry and the record, then the transcription on the service (best effort: its
        time-to-live removes it otherwise)."""
        records.forget(self.out, self.name, self.transcription)
        try:
            client.delete(self.settings, token if token is not None else fetch_token(self.settings), self.transcription)
        except TranscriptionError as error:
            log.warning("batch transcription %s not deleted: %s: %s", self.transcription, error.code, error.message)

    def _etag(self) -> str | None:
        """The recording's ETag now; ``None`` when it is gone."""
        try:
            return self.audio.get_blob_properties().etag
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise storage.storage_error(f"reading the properties of {self.name}", exc) from None


def _other(record: records.Submission, etag: str) -> bool:
    """Whether the record is about another version of the recording (replaced since it was submitted)."""
    return bare_etag(record.etag) != bare_etag(etag)


def _submitted(record: records.Submission) -> datetime:
    return datetime.fromisoformat(record.submitted_at)
