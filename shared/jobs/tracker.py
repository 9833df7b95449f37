"""The blob door's handle on a job: its status document moved along with one transcription.

Progress is best effort: a failed write is logged, never allowed to fail the transcription. Audio whose job
has no status document (deleted, or never made) or expired first is *abandoned*, and the door removes it
untranscribed: an upload URL outlives a ``DELETE``, so this is how a deleted job stays deleted.
"""

from __future__ import annotations

import logging
import threading
import time

from shared.errors import JobNotFoundError, TranscriptionError
from shared.jobs.completion import finish_job
from shared.jobs.model import EXPIRED
from shared.jobs.names import job_id_from_blob_name
from shared.jobs.store import JobStore, get_job, record_engine, report_progress, start_job, store_for
from shared.platform import storage
from shared.settings import Settings

log = logging.getLogger(__name__)

#: ``JobTracker.status`` of a job that has no status document: deleted, or never made.
GONE = "gone"


class JobTracker:
    """One invocation's handle on the job an input blob belongs to."""

    def __init__(self, store: JobStore, job_id: str, interval: float) -> None:
        self.store: JobStore | None = store
        self.job_id = job_id
        self.interval = interval
        self._lock = threading.Lock()
        self._last = time.monotonic()
        #: The options the job asked for, and its status (``GONE``: no document), once ``start`` has read it.
        self.options: dict[str, object] | None = None
        self.status: str | None = None

    @classmethod
    def for_blob(cls, clients: storage.StorageClients, settings: Settings, name: str) -> JobTracker | None:
        """The tracker of the job whose audio ``name`` is; ``None`` for a blob that is not a job's."""
        job_id = job_id_from_blob_name(name)
        if job_id is None:
            return None
        return cls(store_for(clients, settings), job_id, settings.job_progress_seconds)

    @property
    def abandoned(self) -> bool:
        """Whether the audio has no job to go to: its job is gone, or expired before the audio came."""
        return self.status in (GONE, EXPIRED)

    def start(self) -> bool:
        """Mark the job running; ``False`` when it will not run: it has ended, or it is ``abandoned``."""
        try:
            job = start_job(self.store, self.job_id)
        except JobNotFoundError:
            self._gone()
            return False
        self.status = job.status
        if job.terminal:
            log.info("job %s already %s; not transcribing its audio", self.job_id, job.status)
            return False
        self.options = job.options
        return True

    def gone(self) -> bool:
        """Whether the job's status document is gone now (deleted while its audio was tried); a failure to read
        it says nothing, and is ``False``."""
        if self.store is not None:
            try:
                get_job(self.store, self.job_id)
            except JobNotFoundError:
                self._gone()
            except TranscriptionError:
                pass
        return self.status == GONE

    def _gone(self) -> None:
        self.status, self.store = GONE, None

    def progress(self, seconds_done: float, seconds_total: float | None) -> None:
        """Write the progress, at most every ``interval`` seconds; called from the session's thread."""
        now = time.monotonic()
        with self._lock:
            if self.store is None or now - self._last < self.interval:
                return
            self._last = now
        try:
            report_progress(self.store, self.job_id, seconds_done, seconds_total)
        except TranscriptionError as exc:
            log.warning("job %s: progress not recorded: %s", self.job_id, exc.message)

    def succeeded(self, results: dict[str, str], audio_seconds: float | None = None, engine: str | None = None) -> None:
        """Finish the job with its results; raises when it could not be marked ``succeeded``. A message that
        failed to send is no failed transcription: the sweep sends it."""
        if self.store is None:
            return
        try:
            finish_job(self.store, self.job_id, results=results, audio_seconds=audio_seconds, engine=engine)
        except JobNotFoundError:  # DELETE came while it ran: the door removes what it wrote
            self._gone()
        except TranscriptionError as error:
            if not self._finished():
                raise
            log.warning(
                "job %s succeeded; its completion message is left for the sweep: %s", self.job_id, error.message
            )

    def _finished(self) -> bool:
        """Whether the job's document says it has ended (read again after a failed finish)."""
        try:
            return get_job(self.store, self.job_id).terminal
        except TranscriptionError:
            return False

    def on_engine(self, engine: str) -> None:
        """Show the engine in the running job's status (best effort, as progress is)."""
        if self.store is None:
            return
        try:
            record_engine(self.store, self.job_id, engine)
        except JobNotFoundError:
            self._gone()
        except TranscriptionError as exc:
            log.warning("job %s: engine not recorded: %s", self.job_id, exc.message)

    def failed(self, error: TranscriptionError) -> None:
        """Finish the job as failed; the original error matters more than a failure to record it."""
        if self.store is None:
            return
        try:
            finish_job(self.store, self.job_id, error=error)
        except JobNotFoundError:
            self._gone()
        except TranscriptionError as exc:
            log.error("job %s: could not record its failure: %s", self.job_id, exc.message)
