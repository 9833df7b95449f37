"""One Speech SDK transcription session that disposes of every SDK object it creates.

Every SDK object (the phrase list and language configs too) is made in ``SpeechSession`` and released in
``close()`` whatever happens: stopped with a bound (a stalled service can block the stop), every handler
disconnected (a connected one keeps the transcriber's native handles alive), every reference dropped.
``run`` adds an idle timeout and a deadline: a service that closes mid-turn or goes silent leaves the SDK
waiting with no deadline of its own.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import azure.cognitiveservices.speech as speechsdk

from shared.audio import PcmReader
from shared.errors import ServiceError, SpeechTimeoutError
from shared.options import RecognitionOptions
from shared.output.transcript import Segment
from shared.settings import Settings
from shared.speech.config import language_configs, options_or_default, phrase_list, segment_fields, speech_config
from shared.speech.events import EventCollector
from shared.speech.feed import PacedPcmFeed

log = logging.getLogger(__name__)

#: How long ``close()`` waits for the SDK to stop before giving up on it.
STOP_TIMEOUT_SECONDS = 5.0
#: How often a long session logs its progress.
PROGRESS_INTERVAL_SECONDS = 30.0
#: A connection the service closed and the SDK did not reopen within this long is over: after a normal close
#: mid-turn the SDK waits for ever, with no event (docs/performance.md, section 2).
RECONNECT_GRACE_SECONDS = 5.0
#: Held while a session's SDK objects are dropped: two releases at the same moment on helper threads crashed the
#: SDK once under load (docs/testing.md). A release waits for another at most STOP_TIMEOUT_SECONDS.
_RELEASING = threading.Lock()


class SpeechSession:
    """``with SpeechSession(settings, token, pcm, options=options) as session: segments = session.run()``.

    ``pcm`` (16 kHz mono 16-bit) is closed with the session; ``on_progress(seconds)`` gets the audio
    recognised so far; ``options`` (``None``: the app's defaults) say what each segment carries.
    """

    def __init__(
        self,
        settings: Settings,
        token: str,
        pcm: PcmReader,
        on_progress: Callable[[float], None] | None = None,
        options: RecognitionOptions | None = None,
    ) -> None:
        self._settings = settings
        self._on_progress = on_progress
        self._token = token
        self._pcm = pcm
        self._options = options_or_default(settings, options)
        self._collector = EventCollector(segment_fields(self._options))
        self._feed: PacedPcmFeed | None = None
        self._stream: speechsdk.audio.PullAudioInputStream | None = None
        self._audio_config: speechsdk.audio.AudioConfig | None = None
        self._config: speechsdk.SpeechConfig | None = None
        self._source_languages: list[speechsdk.languageconfig.SourceLanguageConfig] = []
        self._auto_detect: speechsdk.languageconfig.AutoDetectSourceLanguageConfig | None = None
        self._transcriber: speechsdk.transcription.ConversationTranscriber | None = None
        self._grammar: speechsdk.PhraseListGrammar | None = None
        self._connection: speechsdk.Connection | None = None
        self._signals: list[speechsdk.EventSignal] = []
        self._started = False

    def __enter__(self) -> SpeechSession:
        try:
            self._open()
        except BaseException as exc:
            # The traceback's frames hold SDK objects as locals (the audio format, half-built configs):
            # cleared, so the exception (kept, logged, retried) keeps none of them alive.
            traceback.clear_frames(exc.__traceback__)
            self.close()  # whatever was created before the failure is released all the same
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self) -> None:
        """Create the SDK objects, each kept on ``self`` for ``close()`` (the audio format is a local: the
        stream copies it)."""
        self._config = speech_config(self._settings, self._token, self._options)
        self._source_languages, self._auto_detect = language_configs(self._options)
        audio_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=self._pcm.sample_rate, bits_per_sample=16, channels=1
        )
        self._feed = PacedPcmFeed(self._pcm, answered=lambda c=self._collector: c.heard_until)
        self._stream = speechsdk.audio.PullAudioInputStream(self._feed, audio_format)
        self._audio_config = speechsdk.audio.AudioConfig(stream=self._stream)
        languages = {} if self._auto_detect is None else {"auto_detect_source_language_config": self._auto_detect}
        self._transcriber = speechsdk.transcription.ConversationTranscriber(
            speech_config=self._config, audio_config=self._audio_config, **languages
        )
        self._grammar = phrase_list(self._transcriber, self._options)  # before it starts: the first turn's context
        self._connection = speechsdk.Connection.from_recognizer(self._transcriber)
        self._connect_signals()

    def _connect_signals(self) -> None:
        """Connect the collector to the transcriber's and the connection's events, remembering each signal."""
        c = self._collector
        t = self._transcriber
        assert t is not None
        assert self._connection is not None
        for signal, handler in (
            (t.transcribed, c.on_transcribed),
            (t.transcribing, c.on_transcribing),
            (t.session_started, c.on_activity),
            (t.canceled, c.on_canceled),
            (t.session_stopped, c.on_stopped),
            (self._connection.connected, c.on_connected),
            (self._connection.disconnected, c.on_disconnected),
        ):
            signal.connect(handler)
            self._signals.append(signal)

    def run(self) -> list[Segment]:
        """Transcribe until the service has answered for all the audio; raise a typed error if not."""
        collector = self._collector
        assert self._transcriber is not None
        assert self._feed is not None
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
            self._raise_if_stuck(now, started)
            if now - last_progress >= PROGRESS_INTERVAL_SECONDS:
                last_progress = now
                self._report_progress()
        if self._feed.error is not None:
            raise self._feed.error
        if collector.error is not None:
            raise collector.error
        if not collector.ever_connected:
            # Seen under a full quota: refused at every connection, the SDK ended the session as if the audio
            # had run out, with no error; "no speech" would be a silently empty transcript.
            raise ServiceError("the session ended without the Speech service ever being reached", refused_at_start=True)
        self._report_progress()
        return sorted(collector.segments, key=lambda s: (s.start, s.end))

    def _raise_if_stuck(self, now: float, started: float) -> None:
        """End a session that cannot finish: its audio failed, the service left, or a limit passed. Time
        spent inside a read (a storage request, bounded on its own) is not the service's silence."""
        feed, collector, settings = self._feed, self._collector, self._settings
        if feed.error is not None:
            raise feed.error
        gone = collector.disconnected_since
        if gone is not None and now - gone > RECONNECT_GRACE_SECONDS:
            raise ServiceError(
                f"the Speech service closed the connection mid-stream and the SDK did not reconnect "
                f"(audio sent: {self._pcm.seconds_read:.1f} s, recognised: "
                f"{collector.recognised_until:.1f} s)"
            )
        idle = 0.0 if feed.reading else now - max(collector.last_event, feed.last_read)
        if idle > settings.speech_idle_timeout_seconds:
            raise SpeechTimeoutError(
                f"no answer from the Speech service for {idle:.0f} s "
                f"(audio sent: {self._pcm.seconds_read:.1f} s, recognised: {collector.recognised_until:.1f} s)"
            )
        if now - started > settings.transcription_deadline_seconds:
            raise SpeechTimeoutError(
                f"transcription did not finish within {settings.transcription_deadline_seconds:.0f} s"
            )

    def _report_progress(self) -> None:
        """Log how far decoding, sending and recognition have got, so a slow session shows where it waits."""
        pcm = self._pcm
        held = self._feed.held_seconds if self._feed is not None else 0.0
        log.info(
            "%saudio decoded %.1f s, sent %.1f s, recognised %.1f s, %d segments; "
            "sending held back %.0f s waiting for the service",
            f"{pcm.label}: " if len(pcm.decoder.readers) > 1 else "",
            pcm.decoder.seconds_decoded,
            pcm.seconds_read,
            self._collector.recognised_until,
            len(self._collector.segments),
            held,
        )

    def close(self) -> None:
        """Disconnect every handler, stop (bounded) and release every SDK object. Safe to call twice.

        Stop and release run on a helper thread holding the last references: after a stall they outlast
        ``STOP_TIMEOUT_SECONDS`` by far (docs/performance.md, section 2), and the invocation does not wait.
        """
        for signal in self._signals:
            signal.disconnect_all()
        self._signals.clear()
        if self._feed is not None:
            self._feed.close()
        owned = [
            self._transcriber,
            self._grammar,
            self._connection,
            self._audio_config,
            self._stream,
            self._feed,
            self._auto_detect,
            *self._source_languages,
            self._config,
        ]
        # A session the service cancelled is over: stopping it again only delays the SDK's release.
        started = self._started and self._collector.error is None
        self._transcriber = self._grammar = self._connection = self._audio_config = None
        self._stream = self._feed = self._auto_detect = self._config = None
        self._source_languages = []
        self._started = False
        if owned[0] is None:
            return  # never made (opening failed before it): the rest goes with ``owned``, nothing to stop
        _stop_and_release(owned, stop=started, timeout=STOP_TIMEOUT_SECONDS)


def _stop_then_drop(owned: list[Any], stop: bool) -> None:
    """On the helper thread: stop the transcriber in ``owned[0]`` if asked, then drop every reference, last
    first: releasing the transcriber is what blocks after a stall, and whatever is dropped after it waits (the
    SDK's native side keeps what the transcriber still uses until it goes)."""
    try:
        if stop:
            owned[0].stop_transcribing_async().get()
    except BaseException as exc:  # noqa: BLE001 - a failed stop must still release
        log.warning("stopping the Speech SDK failed: %s", exc)
    finally:
        serialised = _RELEASING.acquire(timeout=STOP_TIMEOUT_SECONDS)
        try:
            while owned:
                del owned[-1]
        finally:
            if serialised:
                _RELEASING.release()


def _stop_and_release(owned: list[Any], *, stop: bool, timeout: float) -> None:
    """Stop the transcriber in ``owned[0]`` if started, then drop ``owned``; wait at most ``timeout``."""
    worker = threading.Thread(target=_stop_then_drop, args=(owned, stop), name="speech-stop", daemon=True)
    worker.start()
    del owned  # the worker now holds the only reference to the list
    worker.join(timeout)
    if worker.is_alive():
        log.warning("the Speech SDK did not stop within %.0f s; it is released in the background", timeout)
