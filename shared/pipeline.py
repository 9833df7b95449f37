"""The one transcription path, for every door: a readable stream of audio in, a ``Transcript`` out.

It opens and checks the audio, fetches a token for this invocation only, runs one Speech session (one per
channel with ``CHANNEL_MODE=separate``) and lets everything go. Bad input and limits fail before any token.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import BinaryIO

from shared.audio import MIN_SECONDS, AudioDecoder, AudioFound, is_seekable
from shared.errors import AudioTooLargeError, SpeechUnreachableError, ThrottledError, TranscriptionError
from shared.options import RecognitionOptions
from shared.output.transcript import AudioInfo, Segment, Transcript, main_language
from shared.platform import allocator
from shared.platform.credentials import fetch_token
from shared.platform.reachability import unreachable
from shared.platform.retry_policy import UNREACHABLE_RETRY_SECONDS, start_retry_delay
from shared.settings import SPEECH_ENDPOINT, Settings

log = logging.getLogger(__name__)

#: ``on_progress(seconds_done, seconds_total)``: audio recognised so far, and the declared length.
ProgressCallback = Callable[[float, float | None], None]


def transcribe_audio(
    settings: Settings,
    stream: BinaryIO,
    source: dict[str, object],
    on_progress: ProgressCallback | None = None,
    *,
    options: RecognitionOptions | None = None,
    start_retry_seconds: float | None = None,
) -> Transcript:
    """Transcribe a recording in any supported format; raises a ``TranscriptionError`` subclass on failure.

    ``stream`` should be seekable: an m4a's index may be at its end, and a refused session starts over.
    ``start_retry_seconds`` overrides ``SPEECH_START_RETRY_SECONDS`` (an HTTP request cannot wait that long).
    """
    options = options or settings.recognition
    started = time.monotonic()
    allocator.return_large_buffers_to_os()
    _check_size(stream, settings.max_audio_bytes)
    with _Audio(stream, settings) as audio:
        found = audio.decoder.found
        log.info(
            "audio: %s, %d Hz, %d channel(s), %s; channel mode %s",
            found.format,
            found.sample_rate,
            found.channels,
            "no declared length" if found.declared_seconds is None else f"declares {found.declared_seconds:.1f} s",
            audio.decoder.channel_mode,
        )
        if audio.decoder.ended and audio.decoder.seconds_decoded < MIN_SECONDS:
            segments, token_seconds = [], 0.0
            notes = [
                "the audio has no samples"
                if not audio.decoder.samples_out
                else f"the audio is {audio.decoder.seconds_decoded:.2f} s long, too short to transcribe"
            ]
        else:
            retry_seconds = settings.speech_start_retry_seconds if start_retry_seconds is None else start_retry_seconds
            segments, token_seconds = _recognise(settings, audio, started, on_progress, retry_seconds, options)
            notes = [] if segments else ["no speech was recognised"]
        decoder = audio.decoder
        info = _audio_info(found, round(decoder.seconds_decoded, 3), decoder.channel_mode)
        warnings = decoder.warnings() + notes
    total = time.monotonic() - started
    return Transcript(
        source=source,
        language=main_language(segments, options.languages[0]),
        audio=info,
        segments=segments,
        timings={"token_seconds": round(token_seconds, 3), "total_seconds": round(total, 3)},
        warnings=warnings,
        options=options,
    )


class _Audio:
    """The decoder over ``stream``, opened again from the start when a refused session is retried."""

    def __init__(self, stream: BinaryIO, settings: Settings) -> None:
        self._stream, self._settings = stream, settings
        self.decoder = self._open()

    def _open(self) -> AudioDecoder:
        return AudioDecoder(
            self._stream, channel_mode=self._settings.channel_mode, max_seconds=self._settings.max_audio_minutes * 60
        )

    def reopen(self) -> bool:
        """Start the audio over for another session; ``False`` when the stream cannot go back."""
        if not is_seekable(self._stream):
            return False
        self.decoder.close()
        self._stream.seek(0)
        self.decoder = self._open()
        return True

    def __enter__(self) -> _Audio:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.decoder.close()


def _recognise(
    settings: Settings,
    audio: _Audio,
    started: float,
    on_progress: ProgressCallback | None,
    retry_seconds: float,
    options: RecognitionOptions,
) -> tuple[list[Segment], float]:
    """Fetch this invocation's token and run the session(s), a refused start again with the same token; the
    segments and the seconds to the token."""
    token = fetch_token(settings)
    token_seconds = time.monotonic() - started
    from shared.speech import recognise  # loads the native SDK: keep off the import path

    declared = audio.decoder.found.declared_seconds
    progress = None if on_progress is None else (lambda done: on_progress(done, declared))
    retries = _StartRetries(settings.speech_endpoint, retry_seconds)
    try:
        while True:
            try:
                return recognise(settings, token, audio.decoder.readers, progress, options=options), token_seconds
            except TranscriptionError as error:
                wait = retries.wait_after(error, can_restart=audio.reopen)
                log.info(
                    "%s; try %d in %.1f s (%.0f s of SPEECH_START_RETRY_SECONDS left)",
                    error.message,
                    retries.tries,
                    wait,
                    retries.give_up_at - time.monotonic(),
                )
                time.sleep(wait)
    finally:
        del token


class _StartRetries:
    """When to try a refused session start again (``shared.platform.retry_policy``), and when to stop: after
    ``budget`` seconds, or sooner, naming the setting, when ``SPEECH_ENDPOINT`` takes no connection at all."""

    def __init__(self, endpoint: str, budget: float) -> None:
        self.endpoint, self.tries = endpoint, 1
        self.began = time.monotonic()
        self.give_up_at = self.began + budget

    def wait_after(self, error: TranscriptionError, *, can_restart: Callable[[], bool]) -> float:
        """Seconds to wait before the next try; raises when there is none."""
        if not error.refused_at_start:
            raise error
        why = None if error.code == ThrottledError.code else unreachable(self.endpoint)
        now = time.monotonic()
        if why is not None and now - self.began >= UNREACHABLE_RETRY_SECONDS or now >= self.give_up_at:
            if why is not None:
                raise SpeechUnreachableError(
                    f"{SPEECH_ENDPOINT} could not be reached: {why} ({self.tries} tries in {now - self.began:.0f} s; "
                    "tried again later)",
                    details=error.details,
                    sdk_error_code=error.sdk_error_code,
                ) from None
            raise error
        if not can_restart():
            raise error
        stop = self.give_up_at if why is None else min(self.give_up_at, self.began + UNREACHABLE_RETRY_SECONDS)
        wait = min(start_retry_delay(self.tries - 1), max(stop - now, 0.0))
        self.tries += 1
        return wait


def _audio_info(found: AudioFound, decoded: float, channel_mode: str) -> AudioInfo:
    """What the input was (as found in the file) and what was decoded and sent."""
    return AudioInfo(
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
    )


def _check_size(stream: BinaryIO, limit: int) -> None:
    """``AudioTooLargeError`` for a stream larger than ``MAX_AUDIO_BYTES``, before a byte is read."""
    size = _stream_size(stream)
    if size is not None and size > limit:
        raise AudioTooLargeError(f"the audio is {size} bytes; the limit is {limit} bytes (MAX_AUDIO_BYTES)")


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
