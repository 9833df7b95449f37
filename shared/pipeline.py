"""The one transcription path, for every door: a readable stream of audio in, a ``Transcript`` out.

It opens and checks the audio, picks the engine (``shared.engines``), fetches a token for this invocation
only, runs one Speech session (one per channel with ``CHANNEL_MODE=separate``) or sends the file to fast
transcription, and lets everything go. Bad input, limits and an engine that cannot run fail before any token.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import BinaryIO

from shared.audio import MIN_SECONDS, AudioDecoder, AudioFound, is_seekable
from shared.engines import FAST, choose_engine
from shared.errors import AudioTooLargeError, InvalidOptionsError
from shared.options import RecognitionOptions
from shared.options.declared import BATCH
from shared.output.phrases import ends_early
from shared.output.transcript import AudioInfo, Segment, Transcript, main_language
from shared.platform import allocator
from shared.platform.credentials import fetch_token
from shared.platform.start_retries import retrying
from shared.settings import Settings

log = logging.getLogger(__name__)

#: ``on_progress(seconds_done, seconds_total)``: audio recognised so far, and the declared length.
ProgressCallback = Callable[[float, float | None], None]
#: What an engine's run gives: the segments, the seconds to the token, the seconds of audio heard, notes.
Recognised = tuple[list[Segment], float, float, list[str]]


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
    size = check_size(stream, settings.max_audio_bytes)
    with _Audio(stream, settings, size) as audio:
        decoder = audio.decoder
        found = _logged(decoder)
        choice = choose_engine(options, found, size, decoder.channel_mode)
        if choice.engine == BATCH:  # the doors send it to shared.batch; this path waits for an answer
            raise InvalidOptionsError("engine=batch: the service reads the recording from storage (a blob or a job)")
        if decoder.ended and decoder.seconds_decoded < MIN_SECONDS:
            segments, token_seconds, heard = [], 0.0, decoder.seconds_decoded
            notes = [
                "the audio has no samples"
                if not decoder.samples_out
                else f"the audio is {decoder.seconds_decoded:.2f} s long, too short to transcribe"
            ]
        else:
            retry_seconds = settings.speech_start_retry_seconds if start_retry_seconds is None else start_retry_seconds
            run = _fast if choice.engine == FAST else _realtime
            segments, token_seconds, heard, notes = run(settings, audio, started, on_progress, retry_seconds, options)
            notes += [] if segments else ["no speech was recognised"]
        info = audio_info(found, round(heard, 3), audio.decoder.channel_mode)
        warnings = audio.decoder.warnings() + notes
    total = time.monotonic() - started
    return Transcript(
        source=source,
        language=main_language(segments, options.languages[0]),
        audio=info,
        segments=segments,
        timings={"token_seconds": round(token_seconds, 3), "total_seconds": round(total, 3)},
        warnings=warnings,
        options=options,
        engine=choice.engine,
        engine_reason=choice.reason,
    )


class _Audio:
    """The decoder over ``stream`` (``size`` bytes, when known), opened again from the start when a refused
    session is retried. Leaving it ends the recording's native work, whatever happened: the decoder is closed
    (its sessions already are) and the memory they freed goes back to the OS (``shared.platform.allocator``)."""

    def __init__(self, stream: BinaryIO, settings: Settings, size: int | None) -> None:
        self._stream, self._settings, self.size = stream, settings, size
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

    def rewound(self) -> BinaryIO:
        """The recording's own bytes from the start, for an engine that sends the file; the decoder let go."""
        self.decoder.close()
        self._stream.seek(0)
        return self._stream

    def can_rewind(self) -> bool:
        return is_seekable(self._stream)

    def __enter__(self) -> _Audio:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.decoder.close()
        allocator.release_free_memory()


def _realtime(
    settings: Settings,
    audio: _Audio,
    started: float,
    on_progress: ProgressCallback | None,
    retry_seconds: float,
    options: RecognitionOptions,
) -> Recognised:
    """This invocation's token, then the Speech session(s), a refused start again with the same token."""
    token = [fetch_token(settings)]  # a list, emptied at the end: a kept traceback then holds no token
    token_seconds = time.monotonic() - started
    from shared.speech import recognise  # loads the native SDK: keep off the import path

    declared = audio.decoder.found.declared_seconds
    progress = None if on_progress is None else (lambda done: on_progress(done, declared))
    try:
        segments = retrying(
            settings.speech_endpoint,
            retry_seconds,
            lambda: recognise(settings, token[0], audio.decoder.readers, progress, options=options),
            restart=audio.reopen,
        )
    finally:
        token.clear()
    return segments, token_seconds, audio.decoder.seconds_decoded, []


def _fast(
    settings: Settings,
    audio: _Audio,
    started: float,
    on_progress: ProgressCallback | None,
    retry_seconds: float,
    options: RecognitionOptions,
) -> Recognised:
    """This invocation's token, then the file itself to fast transcription, a refused request again from the
    start; the answer within the audio's length plus ``SPEECH_IDLE_TIMEOUT_SECONDS`` (``docs/engines.md``)."""
    found, mode, size = audio.decoder.found, audio.decoder.channel_mode, audio.size
    token = [fetch_token(settings)]
    token_seconds = time.monotonic() - started
    from shared.fast import recognise_file

    deadline = settings.transcription_deadline_seconds
    bound = min(deadline, settings.speech_idle_timeout_seconds + (found.declared_seconds or deadline))
    try:
        result = retrying(
            settings.speech_endpoint,
            retry_seconds,
            lambda: recognise_file(
                settings, token[0], audio.rewound(), size, channel_mode=mode, options=options, answer_seconds=bound
            ),
            restart=audio.can_rewind,
        )
    finally:
        token.clear()
    if on_progress is not None:
        on_progress(result.seconds, found.declared_seconds)
    return result.segments, token_seconds, result.seconds, ends_early(found.declared_seconds, result.seconds)


def _logged(decoder: AudioDecoder) -> AudioFound:
    """What the audio turned out to be, logged once per invocation."""
    found = decoder.found
    log.info(
        "audio: %s, %d Hz, %d channel(s), %s; channel mode %s",
        found.format,
        found.sample_rate,
        found.channels,
        "no declared length" if found.declared_seconds is None else f"declares {found.declared_seconds:.1f} s",
        decoder.channel_mode,
    )
    return found


def audio_info(found: AudioFound, decoded: float, channel_mode: str) -> AudioInfo:
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


def check_size(stream: BinaryIO, limit: int) -> int | None:
    """The stream's size, or ``AudioTooLargeError`` past ``MAX_AUDIO_BYTES``, before a byte is read."""
    size = _stream_size(stream)
    if size is not None and size > limit:
        raise AudioTooLargeError(f"the audio is {size} bytes; the limit is {limit} bytes (MAX_AUDIO_BYTES)")
    return size


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
