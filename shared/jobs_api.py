"""The jobs half of the HTTP door: uploads, status, transcripts, deletion, listing.

Long audio cannot be transcribed inside an HTTP request (Azure ends it after 230 s), so it becomes a
job: the audio lands in the input container as ``jobs/<id>.<ext>`` and the blob trigger, the same
path every dropped file takes, does the work and moves the job's status document forward
(``shared.jobs``). These handlers only read and write that state; none of them transcribes.

Every id from a URL goes through ``jobs.parse_job_id`` before any blob name is built from it; a
malformed id and an unknown one get the same 404.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import azure.functions as func

from shared import jobs, storage
from shared.errors import (
    InvalidJobQueryError,
    InvalidRequestError,
    NotAcceptableError,
    NotReadyError,
    TranscriptionError,
)
from shared.settings import Settings
from shared.subtitles import FORMATS, output_format

log = logging.getLogger(__name__)

#: Where the API's own URLs start (``links``, ``Location``).
API_BASE = "/api"
#: How long an upload URL is valid.
UPLOAD_URL_MINUTES = 15

#: ``Accept`` media types → output format, for ``GET .../transcript`` without ``?format=``.
_ACCEPT = {fmt.content_type: name for name, fmt in FORMATS.items()}
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,10})$")


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, ensure_ascii=False), status_code=status, headers=headers,
                             mimetype="application/json", charset="utf-8")


def error_response(error: TranscriptionError) -> func.HttpResponse:
    return json_response({"error": error.to_dict()}, error.http_status)


@contextmanager
def job_store(settings: Settings) -> Iterator[jobs.JobStore]:
    """This request's job store: clients on one credential, closed when the request ends."""
    with storage.connect(settings) as clients:
        yield jobs.store_for(clients, settings)


def job_location(job_id: str) -> str:
    return f"{API_BASE}/transcriptions/{job_id}"


def submit(settings: Settings, body: bytes, extension: str, *, asked: bool) -> func.HttpResponse:
    """Store ``body`` as a new job's audio and answer 202; the blob trigger does the rest.

    The status document is written before the audio, so the trigger always finds its job.
    """
    from azure.core.exceptions import AzureError

    with job_store(settings) as store:
        job = jobs.create_job(store, extension)
        try:
            store.audio.upload_blob(job.audio["name"], body, overwrite=False, max_concurrency=2)
        except AzureError as exc:
            error = storage.storage_error(f"storing the audio of job {job.id}", exc)
            jobs.finish_job(store, job.id, error=error, api_base=API_BASE)
            raise error from None
        log.info("job %s: %d bytes stored as %s", job.id, len(body), job.audio["name"])
        headers = {"Location": job_location(job.id)}
        if asked:
            headers["Preference-Applied"] = "respond-async"
        return json_response(jobs.public_view(job, api_base=API_BASE), 202, headers)


def create_upload(req: func.HttpRequest) -> func.HttpResponse:
    """``POST /api/uploads``: a new queued job and a URL to PUT its audio to, straight into storage."""
    try:
        settings = Settings.from_env()
        extension = _upload_extension(req)
        with storage.connect(settings) as clients:
            store = jobs.store_for(clients, settings)
            job = jobs.create_job(store, extension)
            url, expires = storage.upload_url(clients.blobs, settings.input_container, job.audio["name"],
                                              minutes=UPLOAD_URL_MINUTES)
    except TranscriptionError as error:
        return error_response(error)
    log.info("job %s: upload URL for %s, valid until %s", job.id, job.audio["name"], expires.isoformat())
    body = {
        "id": job.id,
        "status": job.status,
        "upload": {"url": url, "method": "PUT", "headers": {"x-ms-blob-type": "BlockBlob"},
                   "expires_at": expires.isoformat()},
        "links": {"self": job_location(job.id)},
    }
    return json_response(body, 201, {"Location": job_location(job.id)})


def get_job(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/transcriptions/{id}``: status, progress, times, error, links."""
    try:
        job_id = jobs.parse_job_id(req.route_params.get("id"))
        with job_store(Settings.from_env()) as store:
            job = jobs.get_job(store, job_id)
    except TranscriptionError as error:
        return error_response(error)
    return json_response(jobs.public_view(job, api_base=API_BASE))


def get_transcript(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/transcriptions/{id}/transcript``: ``?format=`` or ``Accept`` picks json/txt/srt/vtt."""
    from shared.transcript import Transcript

    try:
        job_id = jobs.parse_job_id(req.route_params.get("id"))
        fmt = _requested_format(req)
        with job_store(Settings.from_env()) as store:
            job = jobs.get_job(store, job_id)
            if job.status != jobs.SUCCEEDED:
                raise NotReadyError(f"job {job_id} is {job.status}; its transcript exists once it has succeeded")
            stored = job.results.get(fmt.name)
            if stored:
                text = storage.read_text(store.results, stored)
            else:  # a format OUTPUT_FORMATS did not write: render it from the JSON
                body = storage.read_json(store.results, job.results["json"])
                if body is None:
                    raise NotReadyError(f"job {job_id} has no transcript stored any more")
                text = fmt.render(Transcript.from_dict(body))
    except TranscriptionError as error:
        return error_response(error)
    return func.HttpResponse(text, status_code=200, mimetype=fmt.content_type, charset="utf-8")


def delete_job(req: func.HttpRequest) -> func.HttpResponse:
    """``DELETE /api/transcriptions/{id}``: the job's audio, results and status go."""
    try:
        job_id = jobs.parse_job_id(req.route_params.get("id"))
        with job_store(Settings.from_env()) as store:
            jobs.delete_job(store, job_id)
    except TranscriptionError as error:
        return error_response(error)
    log.info("job %s deleted", job_id)
    return func.HttpResponse(status_code=204)


def list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """``GET /api/transcriptions?status=&top=&page=``: newest first, one page at a time."""
    try:
        top = _top(req.params.get("top"))
        status = req.params.get("status") or None
        page_token = req.params.get("page") or None
        with job_store(Settings.from_env()) as store:
            page = jobs.list_jobs(store, status=status, top=top, page_token=page_token)
    except TranscriptionError as error:
        return error_response(error)
    next_url = None
    if page.next_page_token:
        query = {"top": str(top), "page": page.next_page_token, **({"status": status} if status else {})}
        from urllib.parse import urlencode

        next_url = f"{API_BASE}/transcriptions?{urlencode(query)}"
    return json_response({
        "jobs": [
            {"id": j.id, "status": j.status, "created_at": j.created_at, "finished_at": j.finished_at,
             "links": {"self": job_location(j.id)}}
            for j in page.jobs
        ],
        "next": next_url,
    })


# -- request parsing ----------------------------------------------------------------------------------
def _requested_format(req: func.HttpRequest):
    name = req.params.get("format")
    if name:
        try:
            return output_format(name)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
    accept = req.headers.get("accept", "")
    if not accept.strip():
        return FORMATS["json"]
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPT:
            return FORMATS[_ACCEPT[media]]
        if media in ("*/*", "application/*", "text/*"):
            return FORMATS["json"] if media != "text/*" else FORMATS["txt"]
    raise NotAcceptableError(f"Accept names no format this service writes: use one of "
                             f"{', '.join(fmt.content_type for fmt in FORMATS.values())}")


def _top(raw: str | None) -> int:
    if raw is None or raw == "":
        return jobs.DEFAULT_PAGE_SIZE
    if not raw.isdigit():
        raise InvalidJobQueryError(f"top must be a whole number from 1 to {jobs.MAX_PAGE_SIZE}")
    return int(raw)


def _upload_extension(req: func.HttpRequest) -> str:
    """The extension of the ``filename`` the client sent (cosmetic: the content decides the format)."""
    raw = req.get_body()
    if not raw:
        return "bin"
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequestError('the body must be JSON: {"filename": "meeting.m4a"}') from None
    if not isinstance(body, dict) or set(body) - {"filename"}:
        raise InvalidRequestError('the body may only have a "filename"')
    filename = body.get("filename")
    if filename is None:
        return "bin"
    if not isinstance(filename, str) or len(filename) > 255:
        raise InvalidRequestError("filename must be a string of up to 255 characters")
    match = _EXTENSION.search(filename)
    return match.group(1).lower() if match else "bin"

