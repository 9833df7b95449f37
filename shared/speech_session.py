"""One Speech SDK transcription session with guaranteed disposal (Fix 1).

Everything the SDK allocates for a session is created inside ``SpeechSession`` and released in
``close()``, whatever happens: the transcription is stopped (with a bound, since a stalled service
can make ``stop_transcribing_async().get()`` block), every signal we connected is disconnected
(a connected handler keeps the transcriber and its native handles alive), and every reference is
dropped. The leaks this project exists to fix came from skipping exactly these steps.

Audio reaches the SDK through a *pull* stream, not a push stream: the SDK asks for at most n bytes
when it is ready to send them, and the callback decodes just enough to answer (``shared.audio``), so
a long recording is fetched and decoded at the SDK's pace. A push stream accepts writes as fast as we
make them and buffers them inside the SDK.

The SDK keeps every byte it has sent until the service has answered for it. Sent fast, a long file
would have minutes of audio waiting there (measured: +17 MiB for a 5-minute file, all of it sent in
seconds). So the callback also holds the SDK back: it answers only while the audio sent is less than
``MAX_LEAD_SECONDS`` ahead of what the service has answered for, or of 10× real time (``FLOOR_PACE``),
whichever is further. Memory then stays the same for a 1-minute and a 2-hour recording, and a service
that is silent for a while (long silence in the audio) still gets audio at ten times live pace.

``transcribe`` runs one session for the mixed-down audio, or one per channel at the same time when
``CHANNEL_MODE=separate`` gave several readers; each channel's segments are labelled ``Channel-N``.

Importing this module loads the Speech SDK's native library; callers import it inside the
invocation path so a cold start of the function app does not pay for it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable

import azure.cognitiveservices.speech as speechsdk

from shared.audio import PcmReader
from shared.errors import (
    AuthenticationError,
    BadRequestError,
    ServiceError,
    SpeechTimeoutError,
    ThrottledError,
    TranscriptionError,
)
from shared.settings import Settings
from shared.transcript import Segment

log = logging.getLogger(__name__)

TICKS_PER_SECOND = 10_000_000
#: How long ``close()`` waits for the SDK to stop before giving up on it.
STOP_TIMEOUT_SECONDS = 5.0
#: How often a long session logs its progress.
PROGRESS_INTERVAL_SECONDS = 30.0
#: How far the audio sent may run ahead of what the service has answered for (or of ``FLOOR_PACE``).
MAX_LEAD_SECONDS = 30.0
#: The floor's pace, as a multiple of real time: silence gets no answers from the service, so a sparse
#: recording held to real time would take as long as it lasts.
FLOOR_PACE = 10.0
#: How often a held-back read checks again.
_LEAD_POLL_SECONDS = 0.02
#: Undocumented SDK pacing properties (``SPEECH_SEND_FAST``). By default the SDK sends a 5 s burst and
#: then 2× real time, which a pipeline billed per second of function time does not want. But it keeps
#: every byte the service has not acknowledged, and a transcriber holding more than 240 s of it cancels
#: with ``ServiceTimeout`` ("the client buffer exceeded maximum size"): sending a long file all at once
#: fails (measured: 10 min of audio at once, cancelled after 0.5 s). So: a burst well under that
#: (60 s), then up to 50× real time; past 120 s unacknowledged the SDK drops to real time by itself
#: (``SPEECH-BufferSizePercentSwitchToLowRate``, 50 %) until the service catches up. The callback's own
#: lead (``MAX_LEAD_SECONDS``) now keeps the unacknowledged audio far below both; they remain a margin.
_FAST_LANE = "SPEECH-TransmitLengthBeforeThrottleMs"
_FAST_LANE_MS = "60000"
_SEND_RATE = "SPEECH-AudioThrottleAsPercentageOfRealTime"
_SEND_RATE_PERCENT = "5000"
_MAX_UNACKNOWLEDGED = "SPEECH-MaxBufferSizeMs"
_MAX_UNACKNOWLEDGED_MS = "480000"

_CANCELLATION_ERRORS: dict[str, type[TranscriptionError]] = {
    "AuthenticationFailure": AuthenticationError,
    "Forbidden": AuthenticationError,
    "TooManyRequests": ThrottledError,
    "BadRequest": BadRequestError,
    "ConnectionFailure": ServiceError,
    "ServiceTimeout": ServiceError,
    "ServiceError": ServiceError,
    "ServiceUnavailable": ServiceError,
    "RuntimeError": ServiceError,
}


def error_for_cancellation(code: str, details: str) -> TranscriptionError:
    """Turn the SDK's cancellation into our typed error, keeping its code and details."""
    kind = _CANCELLATION_ERRORS.get(code, ServiceError)
    return kind(f"the Speech service cancelled the session: {code}", details=details, sdk_error_code=code)


class _PcmPullCallback(speechsdk.audio.PullAudioInputStreamCallback):
    """Feeds the SDK from a ``PcmReader``; an error while reading ends the stream and is kept.

    ``answered()`` gives the seconds of audio the service has answered for; reads wait while the audio
    sent is ``lead_seconds`` ahead of both that and ``FLOOR_PACE`` × the time since the first read
    (back-pressure).
    """

    def __init__(self, pcm: PcmReader, answered: Callable[[], float] | None = None,
                 lead_seconds: float = MAX_LEAD_SECONDS) -> None:
        super().__init__()
        self.pcm: PcmReader | None = pcm
        self.error: BaseException | None = None
        self.last_read = time.monotonic()
        self._answered = answered
        self._lead = lead_seconds
        self._first_read: float | None = None
        #: Seconds this callback spent holding the SDK back (reported with the progress).
        self.held_seconds = 0.0

    def _hold_while_ahead(self, pcm: PcmReader) -> None:
        """Wait (on the SDK's audio thread) until the service has caught up to within the lead."""
        if self._answered is None:
            return
        now = time.monotonic()
        if self._first_read is None:
            self._first_read = now
        waited_from = now
        while self.pcm is pcm and self.error is None:
            live_pace = (time.monotonic() - self._first_read) * FLOOR_PACE
            if pcm.seconds_read < max(self._answered(), live_pace) + self._lead:
                break
            time.sleep(_LEAD_POLL_SECONDS)
        self.held_seconds += time.monotonic() - waited_from

    def read(self, buffer: memoryview) -> int:
        pcm = self.pcm
        if pcm is None or self.error is not None:
            return 0
        self._hold_while_ahead(pcm)
        if self.pcm is not pcm or self.error is not None:
            return 0  # closed while held back
        try:
            data = pcm.read(buffer.nbytes)
        except BaseException as exc:  # noqa: BLE001 - must not escape into the native thread
            self.error = exc
            return 0
        self.last_read = time.monotonic()
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pcm, self.pcm = self.pcm, None
        if pcm is not None:
            pcm.close()  # its session is over: the decoder stops buffering audio for it


class _Collector:
    """Receives SDK events. Holds no reference to the transcriber, so it cannot keep it alive."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.error: TranscriptionError | None = None
        self.done = threading.Event()
        self.last_event = time.monotonic()
        self.recognised_until = 0.0
        #: The end of the latest result, final or partial: what the service has answered for so far.
        self.heard_until = 0.0

    def on_transcribed(self, evt) -> None:
        self.last_event = time.monotonic()
        result = evt.result
        if result.reason != speechsdk.ResultReason.RecognizedSpeech or not result.text:
            return
        start = result.offset / TICKS_PER_SECOND
        end = (result.offset + result.duration) / TICKS_PER_SECOND
        self.recognised_until = max(self.recognised_until, end)
        self.heard_until = max(self.heard_until, end)
        speaker = result.speaker_id or "Unknown"
        self.segments.append(Segment(speaker=speaker, start=round(start, 3), end=round(end, 3), text=result.text))

    def on_activity(self, evt) -> None:
        self.last_event = time.monotonic()

    def on_transcribing(self, evt) -> None:
        self.last_event = time.monotonic()
        result = evt.result
        self.heard_until = max(self.heard_until, (result.offset + result.duration) / TICKS_PER_SECOND)

    def on_canceled(self, evt) -> None:
        self.last_event = time.monotonic()
        details = evt.cancellation_details
        # EndOfStream also arrives here at the end of file input: normal, not an error.
        if details.reason == speechsdk.CancellationReason.Error:
            if self.error is None:
                self.error = error_for_cancellation(details.code.name, details.error_details or "")
            self.done.set()

    def on_stopped(self, evt) -> None:
        self.last_event = time.monotonic()
        self.done.set()


class SpeechSession:
    """``with SpeechSession(settings, token, pcm) as session: segments = session.run()``.

    ``pcm`` is one ``PcmReader`` (16 kHz mono 16-bit); it is closed with the session.
    ``on_progress(seconds)`` is called from ``run`` whenever the audio recognised so far has grown.
    """

    def __init__(
        self,
        settings: Settings,
        token: str,
        pcm: PcmReader,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_progress = on_progress
        self._token = token
        self._pcm = pcm
        self._collector = _Collector()
        self._callback: _PcmPullCallback | None = None
        self._stream = None
        self._audio_config = None
        self._config = None
        self._transcriber = None
        self._signals: list = []
        self._started = False

    def __enter__(self) -> SpeechSession:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _open(self) -> None:
        settings = self._settings
        config = speechsdk.SpeechConfig(endpoint=settings.speech_endpoint)
        # A token string, never token_credential=: see shared/token.py.
        config.authorization_token = self._token
        config.speech_recognition_language = settings.speech_language
        if settings.speech_send_fast:
            config.set_property_by_name(_FAST_LANE, _FAST_LANE_MS)
            config.set_property_by_name(_SEND_RATE, _SEND_RATE_PERCENT)
            config.set_property_by_name(_MAX_UNACKNOWLEDGED, _MAX_UNACKNOWLEDGED_MS)
        self._config = config
        audio_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=self._pcm.sample_rate, bits_per_sample=16, channels=1
        )
        self._callback = _PcmPullCallback(self._pcm, answered=lambda c=self._collector: c.heard_until)
        self._stream = speechsdk.audio.PullAudioInputStream(self._callback, audio_format)
        self._audio_config = speechsdk.audio.AudioConfig(stream=self._stream)
        self._transcriber = speechsdk.transcription.ConversationTranscriber(
            speech_config=config, audio_config=self._audio_config
        )
        c = self._collector
        t = self._transcriber
        for signal, handler in (
            (t.transcribed, c.on_transcribed),
            (t.transcribing, c.on_transcribing),
            (t.session_started, c.on_activity),
            (t.canceled, c.on_canceled),
            (t.session_stopped, c.on_stopped),
        ):
            signal.connect(handler)
            self._signals.append(signal)

    def run(self) -> list[Segment]:
        """Transcribe until the service has answered for all the audio; raise a typed error if not."""
        collector = self._collector
        callback = self._callback
        assert self._transcriber is not None and callback is not None
        started = time.monotonic()
        self._transcriber.start_transcribing_async().get()
        self._started = True
        last_progress = started
        reported = 0.0
        while not collector.done.wait(0.2):
            now = time.monotonic()
            if self._on_progress is not None and collector.recognised_until > reported:
                reported = collector.recognised_until
                self._on_progress(reported)
            idle = now - max(collector.last_event, callback.last_read)
            if idle > self._settings.speech_idle_timeout_seconds:
                raise SpeechTimeoutError(
                    f"no answer from the Speech service for {idle:.0f} s "
                    f"(audio sent: {self._pcm.seconds_read:.1f} s, recognised: {collector.recognised_until:.1f} s)"
                )
            if now - started > self._settings.transcription_deadline_seconds:
                raise SpeechTimeoutError(
                    f"transcription did not finish within {self._settings.transcription_deadline_seconds:.0f} s"
                )
            if now - last_progress >= PROGRESS_INTERVAL_SECONDS:
                last_progress = now
                self._report_progress()
        if callback.error is not None:
            raise callback.error
        if collector.error is not None:
            raise collector.error
        self._report_progress()
        return sorted(collector.segments, key=lambda s: (s.start, s.end))

    def _report_progress(self) -> None:
        pcm = self._pcm
        held = self._callback.held_seconds if self._callback is not None else 0.0
        log.info("%saudio decoded %.1f s, sent %.1f s, recognised %.1f s, %d segments; "
                 "sending held back %.0f s waiting for the service",
                 f"{pcm.label}: " if len(pcm.decoder.readers) > 1 else "", pcm.decoder.seconds_decoded,
                 pcm.seconds_read, self._collector.recognised_until, len(self._collector.segments), held)

    def close(self) -> None:
        """Disconnect every handler, stop (bounded) and release every SDK object. Safe to call twice.

        Stopping and releasing happen on a helper thread that owns the last references: when the
        service has stalled, the SDK's stop (and the release of its native handles, which waits for
        that stop) can take ~20 s, and the invocation should not wait for that beyond
        ``STOP_TIMEOUT_SECONDS``. The objects are then freed as soon as the SDK lets go.
        """
        for signal in self._signals:
            signal.disconnect_all()
        self._signals.clear()
        if self._callback is not None:
            self._callback.close()
        owned = [self._transcriber, self._audio_config, self._stream, self._callback, self._config]
        # A session the service already cancelled is over: stopping it again makes the SDK's release
        # wait ~10 s (measured, SDK 1.53) for nothing. A stalled or still-running one must be stopped.
        started = self._started and self._collector.error is None
        self._transcriber = self._audio_config = self._stream = self._callback = self._config = None
        self._started = False
        if owned[0] is None:
            return
        _stop_and_release(owned, stop=started, timeout=STOP_TIMEOUT_SECONDS)


def _stop_then_drop(owned: list, stop: bool) -> None:
    try:
        if stop:
            owned[0].stop_transcribing_async().get()
    except BaseException as exc:  # noqa: BLE001 - a failed stop must still release
        log.warning("stopping the Speech SDK failed: %s", exc)
    finally:
        owned.clear()


def _stop_and_release(owned: list, *, stop: bool, timeout: float) -> None:
    """Stop the transcriber in ``owned[0]`` if started, then drop ``owned``; wait at most ``timeout``."""
    worker = threading.Thread(target=_stop_then_drop, args=(owned, stop), name="speech-stop", daemon=True)
    worker.start()
    del owned  # the worker now holds the only reference to the list
    worker.join(timeout)
    if worker.is_alive():
        log.warning("the Speech SDK did not stop within %.0f s; it is released in the background", timeout)


def transcribe(settings: Settings, token: str, readers: list[PcmReader],
               on_progress: Callable[[float], None] | None = None) -> list[Segment]:
    """Transcribe one reader, or several channels at once (one session each, labelled ``Channel-N``).

    Channel sessions run side by side, each on its own thread, reading one decoder (each channel's
    reader waits if it gets far ahead of another). If one fails, the decoder is closed, so the others'
    audio ends and they finish at once; then the first error is raised. ``on_progress(seconds)``
    gets the audio recognised so far (with channels: of the channel furthest behind).
    """
    if len(readers) == 1:
        with SpeechSession(settings, token, readers[0], on_progress) as session:
            return session.run()
    results: list[list[Segment]] = [[] for _ in readers]
    errors: list[BaseException] = []
    recognised = [0.0] * len(readers)

    def channel_progress(index: int, seconds: float) -> None:
        recognised[index] = seconds
        if on_progress is not None:
            on_progress(min(recognised))

    def run_channel(index: int, reader: PcmReader) -> None:
        try:
            with SpeechSession(settings, token, reader, functools.partial(channel_progress, index)) as session:
                segments = session.run()
            results[index] = [dataclasses.replace(s, speaker=reader.label) for s in segments]
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread below
            errors.append(exc)
            reader.decoder.close()

    threads = [threading.Thread(target=run_channel, args=(i, r), name=f"speech-{r.label}", daemon=True)
               for i, r in enumerate(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # each session is bounded by its own idle timeout and deadline
    if errors:
        raise errors[0]
    return sorted((s for segments in results for s in segments), key=lambda s: (s.start, s.end, s.speaker))
