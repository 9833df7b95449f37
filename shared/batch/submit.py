"""The blob door's batch step: the recording checked as every engine checks it (its size, what it is, what
batch can take) before any token, then one submission by its plain URL, a refused one tried again as a refused
session start is (429 included). The invocation ends there: a callback or the sweep finishes it
(``shared.batch.finish``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import BinaryIO

from shared.audio import AudioDecoder, AudioFound
from shared.batch import client
from shared.batch.records import Submission
from shared.batch.request import submission
from shared.engines import choose_engine
from shared.errors import TranscriptionError
from shared.jobs.model import iso, utc_now
from shared.options import RecognitionOptions
from shared.pipeline import audio_info, check_size
from shared.platform.credentials import fetch_token
from shared.platform.start_retries import retrying
from shared.recordings.results import Tries
from shared.settings import Settings

log = logging.getLogger(__name__)


def submit_recording(
    settings: Settings,
    stream: BinaryIO,
    content_url: str,
    *,
    source: dict[str, object],
    options: RecognitionOptions,
    tries: Tries,
    keep: Callable[[Submission], None],
    superseded: str | None = None,
) -> Submission:
    """Submit the recording ``stream`` reads (at ``content_url``) and ``keep`` its record; when the record
    cannot be kept the transcription is deleted again, so none runs that nothing knows of. ``superseded``: the
    transcription of an older version of it, deleted on the service with the same token."""
    found, mode = _checked(settings, stream, options)
    started = time.monotonic()
    token = [fetch_token(settings)]  # a list, emptied at the end: a kept traceback then holds no token
    token_seconds = time.monotonic() - started
    body = submission(content_url, options, mode, str(source.get("name") or "recording"))
    try:
        transcription = retrying(
            settings.speech_endpoint,
            settings.speech_start_retry_seconds,
            lambda: client.submit(settings, token[0], body),
            restart=lambda: True,
        )
        submitted = Submission(
            transcription=transcription,
            etag=str(source.get("etag") or ""),
            submitted_at=iso(utc_now()),
            tries=tries,
            source=source,
            audio=asdict(audio_info(found, 0.0, mode)),
            options=options.to_dict(),
            token_seconds=round(token_seconds, 3),
        )
        _kept(settings, token[0], submitted, keep)
        if superseded is not None:
            _delete_quietly(settings, token[0], superseded)
    finally:
        token.clear()
    log.info("%s: batch transcription %s submitted", source.get("name"), transcription)
    return submitted


def _checked(settings: Settings, stream: BinaryIO, options: RecognitionOptions) -> tuple[AudioFound, str]:
    """What the recording is and how its channels go, refused by its rule when batch cannot take it."""
    size = check_size(stream, settings.max_audio_bytes)
    with AudioDecoder(
        stream, channel_mode=settings.channel_mode, max_seconds=settings.max_audio_minutes * 60
    ) as decoder:
        found, mode = decoder.found, decoder.channel_mode
    choose_engine(options, found, size, mode)
    return found, mode


def _kept(settings: Settings, token: str, submitted: Submission, keep: Callable[[Submission], None]) -> None:
    """``keep`` the record; if it cannot be kept, the transcription goes too, and the error is raised."""
    try:
        keep(submitted)
    except TranscriptionError:
        _delete_quietly(settings, token, submitted.transcription)
        raise


def _delete_quietly(settings: Settings, token: str, transcription: str) -> None:
    """Delete a transcription no longer wanted; a failure only leaves it to its time-to-live."""
    try:
        client.delete(settings, token, transcription)
    except TranscriptionError as error:
        log.warning("batch transcription %s not deleted: %s: %s", transcription, error.code, error.message)
