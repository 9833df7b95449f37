"""The pattern this project replaces, rebuilt for variant (b) of ``bench/memory.py``. Never deployed.

The seed's "current problem", piece by piece, on the same blob path as the shipped code:

- a **service singleton**, created on first use and cached at module level for the process's life;
- a **credential object** created once and cached inside it (``DefaultAzureCredential``), and handed to
  the SDK as ``token_credential=``, so every recognizer keeps it and wires a token-refresh callback
  (a lambda over the recognizer) to it;
- per request, **SDK objects created and never disposed**: SpeechConfig, a push stream, AudioConfig and a
  ConversationTranscriber; handlers connected as closures over the transcriber and left connected; the
  session never stopped, the stream never released, no ``gc.collect()``.

``installed()`` swaps this in for ``shared.platform.credentials.fetch_token`` and
``shared.speech.session.SpeechSession`` wherever the pipeline looks them up, so storage, audio reading and
the transcript writes stay exactly
the shipped code: the difference measured is only the token and Speech SDK handling.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import azure.cognitiveservices.speech as speechsdk

from shared.errors import ServiceError
from shared.output.transcript import Segment
from shared.platform.credentials import SPEECH_SCOPE

TICKS_PER_SECOND = 10_000_000
#: Push-stream write size (the seed wrote the file into the stream as fast as it could read it).
WRITE_BYTES = 32_000


class TranscriptionService:
    """The seed's process-wide service: one per process, one credential for its whole life."""

    _instance: TranscriptionService | None = None

    def __init__(self) -> None:
        from azure.identity import DefaultAzureCredential

        self.credential = DefaultAzureCredential()
        self.requests = 0

    @classmethod
    def get(cls) -> TranscriptionService:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def token(self, settings, scope: str = SPEECH_SCOPE) -> str:
        """The seed's token: from the cached credential (and its cache), never closed."""
        self.requests += 1
        return self.credential.get_token(scope).token


class SeedSession:
    """Same call shape as ``shared.speech.session.SpeechSession``; none of its disposal."""

    def __init__(self, settings, token: str, pcm, *args, **kwargs) -> None:
        self.settings = settings
        self.pcm = pcm

    def __enter__(self) -> SeedSession:
        return self

    def __exit__(self, *exc_info) -> None:
        pass  # the seed's point: nothing is stopped, disconnected or released here

    def run(self) -> list[Segment]:
        service = TranscriptionService.get()
        config = speechsdk.SpeechConfig(endpoint=self.settings.speech_endpoint, token_credential=service.credential)
        config.speech_recognition_language = self.settings.speech_language
        if self.settings.speech_send_fast:  # same pace as the shipped session: only the disposal differs
            config.set_property_by_name("SPEECH-TransmitLengthBeforeThrottleMs", "600000")
        rate = getattr(self.pcm, "sample_rate", 16000)
        stream = speechsdk.audio.PushAudioInputStream(
            speechsdk.audio.AudioStreamFormat(samples_per_second=rate, bits_per_sample=16, channels=1)
        )
        audio_config = speechsdk.audio.AudioConfig(stream=stream)
        transcriber = speechsdk.transcription.ConversationTranscriber(speech_config=config, audio_config=audio_config)
        done = threading.Event()
        results: list = []
        errors: list[str] = []

        def on_transcribed(evt):
            if evt.result.reason == speechsdk.ResultReason.RecognizedSpeech and evt.result.text:
                results.append(evt.result)

        def on_canceled(evt):
            if evt.cancellation_details.reason == speechsdk.CancellationReason.Error:
                errors.append(f"{evt.cancellation_details.code.name}: {evt.cancellation_details.error_details}")
            done.set()

        transcriber.transcribed.connect(on_transcribed)
        transcriber.transcribing.connect(lambda evt: None)
        transcriber.canceled.connect(on_canceled)
        transcriber.session_stopped.connect(lambda evt: done.set())
        transcriber.start_transcribing_async().get()
        while data := self.pcm.read(WRITE_BYTES):
            stream.write(data)
        stream.close()  # end of audio (what ends the session), not a release of the stream
        if not done.wait(self.settings.speech_idle_timeout_seconds):
            raise ServiceError("the seed pattern's session did not end")
        if errors:
            raise ServiceError(f"the Speech service cancelled the session: {errors[0]}")
        return [
            Segment(
                speaker=r.speaker_id or "Unknown",
                start=round(r.offset / TICKS_PER_SECOND, 3),
                end=round((r.offset + r.duration) / TICKS_PER_SECOND, 3),
                text=r.text,
            )
            for r in results
        ]


def fetch_token(settings, scope: str = SPEECH_SCOPE) -> str:
    return TranscriptionService.get().token(settings, scope)


@contextlib.contextmanager
def installed() -> Iterator[TranscriptionService]:
    """Route the pipeline's token fetch and Speech session through the seed pattern, then restore.

    Patched wherever the original objects are bound (``shared.pipeline`` imports ``fetch_token`` by
    name; ``SpeechSession`` is imported from its module at call time), so this keeps working when the
    pipeline moves code between ``shared`` modules. The caller checks ``requests`` to be sure it ran.
    """
    import shared.platform.credentials
    import shared.speech  # the package imports every module that names SpeechSession

    swaps = [(shared.platform.credentials.fetch_token, fetch_token), (shared.speech.session.SpeechSession, SeedSession)]
    patched: list[tuple[object, str, object]] = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "shared" or name.startswith("shared.")):
            continue
        for attribute, value in list(vars(module).items()):
            for original, replacement in swaps:
                if value is original:
                    setattr(module, attribute, replacement)
                    patched.append((module, attribute, original))
    try:
        yield TranscriptionService.get()
    finally:
        for module, attribute, original in patched:
            setattr(module, attribute, original)
