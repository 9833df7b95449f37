"""``python -m shared.transcribe FILE --engine batch``: the command line's batch door.

The service reads a recording from storage, not from this machine, so the file becomes a job's audio in the
input container, as ``POST /api/transcriptions?engine=batch`` stores it; the blob door submits it (or finds it
submitted by its event: one submission either way), and the command polls, finishing the transcription as the
sweep would, until the job has ended. Ctrl-C leaves the job to the service, the web hook and the sweep.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from azure.core.exceptions import AzureError

from shared.batch import records
from shared.batch.finish import finish
from shared.errors import JobStateError, TranscriptionError
from shared.jobs.model import SUCCEEDED, Job
from shared.jobs.names import audio_extension
from shared.jobs.store import create_job, get_job, store_for
from shared.options import RecognitionOptions
from shared.output.transcript import Transcript
from shared.platform import storage
from shared.recordings.door import RETRY, handle_blob
from shared.settings import Settings

log = logging.getLogger(__name__)

#: The first wait between two polls, doubled up to the last: the service takes minutes at least.
FIRST_POLL_SECONDS, LAST_POLL_SECONDS = 2.0, 60.0


def transcribe_by_batch(path: Path, settings: Settings, options: RecognitionOptions) -> Transcript:
    """The transcript of a local file through batch transcription; raises the job's typed error."""
    with storage.connect(settings) as clients:
        store = store_for(clients, settings)
        job = create_job(store, audio_extension(path.suffix.lstrip(".")), options=options.to_dict())
        name = job.audio["name"]
        try:
            with path.open("rb") as stream:
                store.audio.upload_blob(name, stream, overwrite=False, max_concurrency=2)
        except AzureError as exc:
            raise storage.storage_error(f"storing {path.name} as job {job.id}'s audio", exc) from None
        log.info("%s is job %s (%s); submitting it to batch transcription", path.name, job.id, name)
        outcome = handle_blob(store.audio.get_blob_client(name), settings, via=RETRY)
        if outcome.error is not None:
            raise outcome.error
        job = _finished(settings, store, job.id, name)
        if job.status != SUCCEEDED:
            raise _job_error(job)
        body = storage.read_json(store.results, job.results["json"])
    if body is None:
        raise JobStateError(f"job {job.id} succeeded, but its transcript is gone")
    return Transcript.from_dict(body)


def _finished(settings: Settings, store, job_id: str, name: str) -> Job:
    """Poll until the job has ended, finishing its transcription as the sweep would."""
    wait = FIRST_POLL_SECONDS
    while not (job := get_job(store, job_id)).terminal:
        record = records.read(store.results, name)
        if record is not None:
            finish(settings, record.transcription, via="command")
            if (job := get_job(store, job_id)).terminal:
                return job
        log.info("job %s: %s; next look in %.0f s", job_id, job.status, wait)
        time.sleep(wait)
        wait = min(wait * 2, LAST_POLL_SECONDS)
    return job


def _job_error(job: Job) -> TranscriptionError:
    """The job's recorded error as the command prints it (``error: <code>: <message>``)."""
    recorded = job.error or {}
    error = TranscriptionError(str(recorded.get("message") or f"job {job.id} is {job.status}"))
    error.code = str(recorded.get("code") or job.status)
    return error
