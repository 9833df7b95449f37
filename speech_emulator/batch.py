"""Batch transcription: submit, follow, fetch the files, delete; each transcription processed in the background.

A transcription is ``NotStarted`` for ``--batch-delay`` seconds (the service's queue), then ``Running``
while the emulator reads each recording by URL with its own identity (:mod:`speech_emulator.blobsource`)
and recognises it (:mod:`speech_emulator.filerecognition`), then ``Succeeded`` (at least one recording
transcribed) or ``Failed`` (none; ``properties.error`` names why). Either way the web hooks subscribed to
``transcriptionCompletion`` are called (:mod:`speech_emulator.webhooks`). Result files are served from
``contentUrl`` links that need no token, as the service's SAS links do, but carry an unguessable token.

Everything is in memory: a restart forgets every transcription, as a test wants. ``timeToLiveHours`` is
checked but not enforced; ``DELETE`` removes a transcription (and stops its processing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from .audiofile import UndecodableAudioError
from .batchrequest import Submission, not_found
from .batchresults import report_file, result_file, timestamp
from .blobsource import BlobReadError, BlobSource
from .filerecognition import AudioTooLongError, transcribe_file
from .httpio import Response
from .restfaults import RestFault, RestFaultKind
from .webhooks import WebHooks
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator.batch")

#: What a ``failed-*`` fault reports; the transient one reads like a service-side failure worth retrying.
FAULT_ERRORS = {
    RestFaultKind.FAILED_TRANSIENT: ("InternalServerError", "An internal error occurred (fault injected)."),
    RestFaultKind.FAILED_PERMANENT: ("InvalidData", "The recordings URI contains invalid data (fault injected)."),
}


@dataclass(frozen=True)
class ResultFile:
    id: str
    name: str
    kind: str  # Transcription or TranscriptionReport
    content: bytes
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Transcription:
    id: str
    submission: Submission
    base: str  # where the client reached the emulator: the base of every link
    api_version: str
    fault: RestFault | None
    status: str = "NotStarted"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_action: datetime = field(default_factory=lambda: datetime.now(UTC))
    error: dict[str, str] | None = None
    duration_ms: int | None = None
    files: dict[str, ResultFile] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"{self.base}/speechtotext/transcriptions/{self.id}?api-version={self.api_version}"

    def move(self, status: str) -> None:
        self.status, self.last_action = status, datetime.now(UTC)

    def json(self) -> dict[str, Any]:
        """The ``Transcription`` entity (``contentUrls`` are never returned, as the service documents)."""
        sub = self.submission
        properties = dict(sub.properties)
        if self.duration_ms is not None:
            properties["durationMilliseconds"] = self.duration_ms
        if self.error is not None:
            properties["error"] = self.error
        entity: dict[str, Any] = {
            "self": self.url,
            "displayName": sub.display_name,
            "locale": sub.locale,
            "createdDateTime": timestamp(self.created),
            "lastActionDateTime": timestamp(self.last_action),
            "status": self.status,
            "links": {
                "files": f"{self.base}/speechtotext/transcriptions/{self.id}/files?api-version={self.api_version}"
            },
            "properties": properties,
        }
        if sub.description is not None:
            entity["description"] = sub.description
        if sub.custom_properties:
            entity["customProperties"] = sub.custom_properties
        return entity

    def file_json(self, file: ResultFile) -> dict[str, Any]:
        return {
            "self": f"{self.base}/speechtotext/transcriptions/{self.id}/files/{file.id}?api-version={self.api_version}",
            "name": file.name,
            "kind": file.kind,
            "properties": {"size": len(file.content)},
            "createdDateTime": timestamp(file.created),
            "links": {"contentUrl": f"{self.base}/speechtotext/artifacts/{self.id}/{file.id}?sig={file.token}"},
        }


@dataclass(frozen=True)
class BatchSettings:
    delay: float = 1.0  # seconds NotStarted before Running


class BatchService:
    """The transcriptions of this emulator process and the tasks that process them."""

    def __init__(self, worker: RecognitionWorker, source: BlobSource, webhooks: WebHooks, settings: BatchSettings):
        self.worker = worker
        self.source = source
        self.webhooks = webhooks
        self.settings = settings
        self._transcriptions: dict[str, Transcription] = {}

    def submit(self, submission: Submission, *, base: str, api_version: str, fault: RestFault | None) -> Response:
        transcription = Transcription(str(uuid.uuid4()), submission, base, api_version, fault)
        self._transcriptions[transcription.id] = transcription
        transcription.task = asyncio.get_running_loop().create_task(self._process(transcription))
        log.info(
            "batch %s submitted: %d recording(s), fault=%s",
            transcription.id,
            len(submission.content_urls),
            fault.name if fault else "none",
        )
        return Response.json(HTTPStatus.CREATED, transcription.json(), {"Location": transcription.url})

    def find(self, transcription_id: str) -> Transcription:
        transcription = self._transcriptions.get(transcription_id)
        if transcription is None:
            raise not_found("transcription")
        return transcription

    def delete(self, transcription_id: str) -> Response:
        transcription = self._transcriptions.pop(transcription_id, None)
        if transcription is not None and transcription.task is not None:
            transcription.task.cancel()
        return Response(HTTPStatus.NO_CONTENT)

    def files(self, transcription_id: str) -> Response:
        transcription = self.find(transcription_id)
        return Response.json(
            HTTPStatus.OK, {"values": [transcription.file_json(f) for f in transcription.files.values()]}
        )

    def file(self, transcription_id: str, file_id: str) -> Response:
        transcription = self.find(transcription_id)
        if file_id not in transcription.files:
            raise not_found("file")
        return Response.json(HTTPStatus.OK, transcription.file_json(transcription.files[file_id]))

    def content(self, transcription_id: str, file_id: str, token: str) -> Response:
        """A result file by its ``contentUrl``: no bearer token, but the link's own (like a SAS)."""
        transcription = self._transcriptions.get(transcription_id)
        file = transcription.files.get(file_id) if transcription else None
        if file is None or not secrets.compare_digest(file.token, token):
            return Response(HTTPStatus.FORBIDDEN if file is not None else HTTPStatus.NOT_FOUND)
        return Response(HTTPStatus.OK, file.content, {"Content-Type": "application/json; charset=utf-8"})

    def close(self) -> None:
        for transcription in self._transcriptions.values():
            if transcription.task is not None:
                transcription.task.cancel()

    async def _process(self, transcription: Transcription) -> None:
        try:
            await self._run(transcription)
        except Exception:  # a bug here must not leave the transcription Running for ever
            log.exception("batch %s failed", transcription.id)
            transcription.error = {"code": "InternalServerError", "message": "The emulator failed to process it."}
            transcription.move("Failed")

    async def _run(self, transcription: Transcription) -> None:
        await asyncio.sleep(self.settings.delay)
        transcription.move("Running")
        started = time.monotonic()
        kind = transcription.fault.kind if transcription.fault else None
        if kind is RestFaultKind.STUCK:
            await asyncio.Event().wait()  # until deleted (the task is cancelled) or the emulator stops
        outcomes = await self._recordings(transcription, kind)
        failures = [o for o in outcomes if o[1] is not None]
        if failures and len(failures) == len(outcomes):
            transcription.error = {"code": failures[0][1] or "", "message": failures[0][2] or ""}
        self._add_file(transcription, "report.json", "TranscriptionReport", report_file(outcomes))
        transcription.move("Failed" if transcription.error else "Succeeded")
        log.info(
            "batch %s %s in %.2f s%s",
            transcription.id,
            transcription.status,
            time.monotonic() - started,
            f": {transcription.error}" if transcription.error else "",
        )
        if kind is not RestFaultKind.NO_CALLBACK:
            self.webhooks.notify("transcriptionCompletion", transcription.url)

    async def _recordings(self, transcription: Transcription, kind: RestFaultKind | None) -> list[tuple[str, Any, Any]]:
        """Each recording transcribed into a result file: ``(url, error code, error message)`` per recording."""
        outcomes: list[tuple[str, Any, Any]] = []
        for index, url in enumerate(transcription.submission.content_urls):
            if kind in FAULT_ERRORS:
                outcomes.append((url, *FAULT_ERRORS[kind]))
                continue
            try:
                result = await self._transcribe(transcription, url)
            except BlobReadError as exc:
                outcomes.append((url, exc.code, exc.message))
                continue
            self._add_file(transcription, f"contenturl_{index}.json", "Transcription", result)
            transcription.duration_ms = (transcription.duration_ms or 0) + result["durationMilliseconds"]
            outcomes.append((url, None, None))
        return outcomes

    async def _transcribe(self, transcription: Transcription, url: str) -> dict[str, Any]:
        sub = transcription.submission
        with tempfile.TemporaryDirectory(prefix="speech-emulator-batch-") as folder:
            path = Path(folder) / "recording"
            await self.source.fetch(url, path)
            try:
                transcript = await transcribe_file(path, sub.request, self.worker)
            except (UndecodableAudioError, AudioTooLongError) as exc:
                raise BlobReadError("InvalidData", f"The recordings URI contains invalid data: {exc}") from exc
        source = url.split("?", 1)[0]
        return result_file(source, transcript, words=sub.words, display_words=sub.display_words, locales=sub.identify)

    @staticmethod
    def _add_file(transcription: Transcription, name: str, kind: str, content: dict[str, Any]) -> None:
        file = ResultFile(str(uuid.uuid4()), name, kind, json.dumps(content, ensure_ascii=False).encode("utf-8"))
        transcription.files[file.id] = file
