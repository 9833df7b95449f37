"""The jobs routes: uploads, status, transcripts, deletion, listing. None transcribes: the blob trigger does,
moving the job's status document forward (``shared.jobs``). Every id from a URL goes through ``parse_job_id``
first, and a malformed id gets the same 404 as an unknown one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlencode

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.api.negotiation import requested_format
from shared.api.request_options import document_options
from shared.api.responses import json_response, route, text_response
from shared.errors import InvalidJobQueryError, InvalidRequestError, NotReadyError, TranscriptionError
from shared.jobs.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, delete_job, list_jobs
from shared.jobs.model import SUCCEEDED
from shared.jobs.names import audio_extension, parse_job_id
from shared.jobs.store import JobStore, create_job, get_job, store_for
from shared.jobs.views import API_BASE, job_location, public_view
from shared.options import RecognitionOptions
from shared.platform import storage
from shared.settings import UPLOAD_URL_MINUTES, Settings

log = logging.getLogger(__name__)

#: The largest ``POST /api/uploads`` body read: 500 phrases of 100 characters, each escaped as JSON at its
#: longest (``\ud83d\ude00``, twelve bytes a character), fit with room to spare.
MAX_UPLOAD_REQUEST_BYTES = 1024 * 1024


@contextmanager
def job_store(settings: Settings) -> Iterator[JobStore]:
    """This request's job store: clients on one credential, closed when the request ends."""
    with storage.connect(settings) as clients:
        yield store_for(clients, settings)


@contextmanager
def _removed_unless_answered(store: JobStore, job_id: str) -> Iterator[None]:
    """Remove the job just made when its request fails after all: the client never learns its id, so nothing
    of it may stay (audio landing later through its URL finds no job and is removed on arrival)."""
    try:
        yield
    except BaseException:
        with suppress(TranscriptionError):  # the request's own error matters more; a queued job expires
            delete_job(store, job_id)
        raise


def submit(
    settings: Settings, body: bytes, extension: str, *, asked: bool, options: RecognitionOptions | None = None
) -> func.HttpResponse:
    """Store ``body`` as a new job's audio, after its status document, and answer 202."""
    with job_store(settings) as store:
        job = create_job(store, extension, options=options.to_dict() if options else None)
        with _removed_unless_answered(store, job.id):
            try:
                store.audio.upload_blob(job.audio["name"], body, overwrite=False, max_concurrency=2)
            except AzureError as exc:
                raise storage.storage_error(f"storing the audio of job {job.id}", exc) from None
        log.info("job %s: %d bytes stored as %s", job.id, len(body), job.audio["name"])
        headers = {"Location": job_location(job.id)}
        if asked:
            headers["Preference-Applied"] = "respond-async"
        return json_response(public_view(job), 202, headers)


@route
def create_upload(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """``POST /api/uploads``: a new queued job (its ``options`` kept from the body) and a URL to PUT its audio
    to, straight into storage."""
    extension, options = _upload_request(req, settings)
    with storage.connect(settings) as clients:
        store = store_for(clients, settings)
        job = create_job(store, extension, options=options)
        with _removed_unless_answered(store, job.id):
            url, expires = storage.upload_url(
                clients.blobs, settings.input_container, job.audio["name"], minutes=UPLOAD_URL_MINUTES
            )
            log.info("job %s: upload URL for %s, valid until %s", job.id, job.audio["name"], expires.isoformat())
            body = {
                "id": job.id,
                "status": job.status,
                "upload": {
                    "url": url,
                    "method": "PUT",
                    "headers": {"x-ms-blob-type": "BlockBlob"},
                    "expires_at": expires.isoformat(),
                },
                "links": {"self": job_location(job.id)},
            }
            return json_response(body, 201, {"Location": job_location(job.id)})


@route
def get_transcription(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """``GET /api/transcriptions/{id}``: status, progress, times, error, links."""
    job_id = parse_job_id(req.route_params.get("id"))
    with job_store(settings) as store:
        job = get_job(store, job_id)
    return json_response(public_view(job))


@route
def get_transcript(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """``GET /api/transcriptions/{id}/transcript``: ``?format=`` or ``Accept`` picks json/txt/srt/vtt."""
    from shared.output.transcript import Transcript

    job_id = parse_job_id(req.route_params.get("id"))
    fmt = requested_format(req)
    with job_store(settings) as store:
        job = get_job(store, job_id)
        if job.status != SUCCEEDED:
            raise NotReadyError(f"job {job_id} is {job.status}; its transcript exists once it has succeeded")
        stored = job.results.get(fmt.name)
        if stored:
            text = storage.read_text(store.results, stored)
        else:  # a format OUTPUT_FORMATS did not write: render it from the JSON
            body = storage.read_json(store.results, job.results["json"])
            if body is None:
                raise NotReadyError(f"job {job_id} has no transcript stored any more")
            text = fmt.render(Transcript.from_dict(body))
    return text_response(text, fmt.content_type)


@route
def delete_transcription(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """``DELETE /api/transcriptions/{id}``: the job's audio, results and status go."""
    job_id = parse_job_id(req.route_params.get("id"))
    with job_store(settings) as store:
        delete_job(store, job_id)
    log.info("job %s deleted", job_id)
    return func.HttpResponse(status_code=204)


@route
def list_transcriptions(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """``GET /api/transcriptions?status=&top=&page=``: newest first, one page at a time."""
    top = _top(req.params.get("top"))
    status = req.params.get("status") or None
    with job_store(settings) as store:
        page = list_jobs(store, status=status, top=top, page_token=req.params.get("page") or None)
    next_url = None
    if page.next_page_token:
        query = {"top": str(top), "page": page.next_page_token, **({"status": status} if status else {})}
        next_url = f"{API_BASE}/transcriptions?{urlencode(query)}"
    return json_response(
        {
            "jobs": [
                {
                    "id": j.id,
                    "status": j.status,
                    "created_at": j.created_at,
                    "finished_at": j.finished_at,
                    "links": {"self": job_location(j.id)},
                }
                for j in page.jobs
            ],
            "next": next_url,
        }
    )


def _top(raw: str | None) -> int:
    """``?top=`` as a page size. ASCII digits only: ``str.isdigit`` also takes ``²``, which ``int`` refuses."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidJobQueryError(f"top must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _upload_request(req: func.HttpRequest, settings: Settings) -> tuple[str, dict[str, object] | None]:
    """The stored audio's extension (from ``filename``: cosmetic, the content decides the format) and the
    validated ``options`` of the upload's JSON body (``None``: the app's defaults, as they are when it runs)."""
    raw = req.get_body()
    if not raw:
        return "bin", None
    if len(raw) > MAX_UPLOAD_REQUEST_BYTES:
        raise InvalidRequestError(
            f"the body is {len(raw)} bytes; a filename and options take at most {MAX_UPLOAD_REQUEST_BYTES}"
        )
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # nested deeper than the parser goes: malformed all the same
        raise InvalidRequestError('the body must be JSON: {"filename": "meeting.m4a", "options": {...}}') from None
    if not isinstance(body, dict) or set(body) - {"filename", "options"}:
        raise InvalidRequestError('the body may only have a "filename" and "options"')
    options = document_options(body["options"], settings).to_dict() if "options" in body else None
    filename = body.get("filename")
    if filename is None:
        return "bin", options
    if not isinstance(filename, str) or len(filename) > 255:
        raise InvalidRequestError("filename must be a string of up to 255 characters")
    return (audio_extension(filename.rpartition(".")[2]) if "." in filename else "bin"), options
