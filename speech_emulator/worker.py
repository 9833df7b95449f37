"""Recognition off the event loop: one worker thread per emulator process.

Whisper blocks for a good fraction of a second per phrase. Run on the asyncio loop it would
freeze every other session, stop the emulator reading audio and let the SDK's own timers fire.
One worker thread (Whisper already uses both cores through ``cpu_threads``) keeps phrases of
all sessions in arrival order and memory bounded to one decode at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .audio import WHISPER_RATE, resample
from .recognizer import Recognizer, Transcript
from .speakers import estimate_pitch

log = logging.getLogger(__name__)

#: How long a partial result may wait to be sent before the decoder gives up on it.
PARTIAL_SEND_TIMEOUT = 5.0


@dataclass(frozen=True)
class PhraseAnalysis:
    """What the worker found in one phrase."""

    transcript: Transcript
    pitch_hz: float | None


class RecognitionWorker:
    """Owns the recogniser and the thread it runs in."""

    def __init__(self, recognizer: Recognizer) -> None:
        self._recognizer = recognizer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recognizer")

    async def analyse(
        self,
        phrases: Sequence[np.ndarray],
        sample_rate: int,
        *,
        transcribe: bool = True,
        pitch: bool = False,
        on_partial: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[PhraseAnalysis]:
        """Resample, transcribe and (for diarization) measure the pitch of phrases, in order.

        Several phrases are decoded in one Whisper pass. For a single phrase ``on_partial`` runs
        on the loop for each partial text and the decoder waits for it, so a
        ``speech.hypothesis`` is always sent before the ``speech.phrase`` that completes it.
        """
        loop = asyncio.get_running_loop()

        def partial(text: str) -> None:
            if on_partial is None:
                return
            try:
                asyncio.run_coroutine_threadsafe(on_partial(text), loop).result(PARTIAL_SEND_TIMEOUT)
            except Exception:  # the session may be gone; the phrase itself still completes
                log.debug("partial result not delivered", exc_info=True)

        def work() -> list[PhraseAnalysis]:
            audio = [resample(samples, sample_rate, WHISPER_RATE) for samples in phrases]
            pitches = [estimate_pitch(a, WHISPER_RATE) if pitch else None for a in audio]
            if not transcribe:
                texts = [Transcript("", 0.0) for _ in audio]
            elif len(audio) == 1:
                texts = [self._recognizer.transcribe(audio[0], partial)]
            else:
                texts = self._recognizer.transcribe_many(audio)
            return [PhraseAnalysis(t, f0) for t, f0 in zip(texts, pitches, strict=True)]

        return await loop.run_in_executor(self._executor, work)

    def warm_up(self) -> None:
        """Decode a second of quiet once, so the first session does not pay for lazy set-up."""
        self._recognizer.transcribe(np.zeros(WHISPER_RATE, dtype=np.float32))

    def close(self) -> None:
        """Stop the thread after the decode in progress."""
        self._executor.shutdown(wait=True, cancel_futures=True)
