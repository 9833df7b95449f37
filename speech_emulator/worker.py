"""Recognition off the event loop: a pool of recogniser threads per emulator process.

Whisper blocks for a good fraction of a second per phrase. Run on the asyncio loop it would
freeze every other session, stop the emulator reading audio and let the SDK's own timers fire.
So phrases are decoded on ``--recognizers`` worker threads, each with its own tiny.en instance
(``cpu_threads`` split between them). With one thread (the default) phrases of all sessions are
decoded in arrival order, one at a time; with more, that many sessions are recognised side by
side, which is what a load test of the product's concurrency needs (see the README for what
each costs on 2 cores). The multilingual model is loaded only when a session first needs it, and
is then shared by all threads (CTranslate2 runs ``num_workers`` calls on it in parallel).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .audio import WHISPER_RATE, resample
from .recognizer import Decoding, Recognizer, Transcript
from .speakers import estimate_pitch

log = logging.getLogger("speech_emulator")

#: How long a partial result may wait to be sent before the decoder gives up on it.
PARTIAL_SEND_TIMEOUT = 5.0


@dataclass(frozen=True)
class PhraseAnalysis:
    """What the worker found in one phrase."""

    transcript: Transcript
    pitch_hz: float | None


class RecognitionWorker:
    """Owns the recognisers and the threads they run in."""

    def __init__(
        self,
        recognizers: Sequence[Recognizer] | Recognizer,
        multilingual: Callable[[], Recognizer] | None = None,
    ) -> None:
        pool = list(recognizers) if isinstance(recognizers, Sequence) else [recognizers]
        if not pool:
            raise ValueError("at least one recogniser is needed")
        self._idle: queue.SimpleQueue[Recognizer] = queue.SimpleQueue()
        for recognizer in pool:
            self._idle.put(recognizer)
        self._pool = pool
        self._executor = ThreadPoolExecutor(max_workers=len(pool), thread_name_prefix="recognizer")
        self._make_multilingual = multilingual
        self._multilingual: Recognizer | None = None
        self._load_lock = threading.Lock()
        self._busy = 0  # phrases (or batches) being decoded right now, and the most at once so far
        self._busy_peak = 0
        self._busy_lock = threading.Lock()

    @property
    def parallel(self) -> int:
        """How many phrases are decoded at once."""
        return len(self._pool)

    def stats(self) -> dict[str, object]:
        """For ``GET /stats``: ``decoding_peak`` shows whether sessions were really recognised side by side."""
        return {
            "recognizers": self.parallel,
            "decoding": self._busy,
            "decoding_peak": self._busy_peak,
            "multilingual_loaded": self._multilingual is not None,
        }

    def _multilingual_recognizer(self) -> Recognizer:
        """The multilingual model, loaded by the first phrase that needs it (in a worker thread)."""
        with self._load_lock:
            if self._multilingual is None:
                if self._make_multilingual is None:
                    raise RuntimeError("this emulator has no multilingual model")
                started = time.monotonic()
                self._multilingual = self._make_multilingual()
                log.info("multilingual model loaded in %.2f s", time.monotonic() - started)
            return self._multilingual

    def _counted(self, decode: Callable[[], list[Transcript]]) -> list[Transcript]:
        """Run one decode, keeping ``decoding`` and ``decoding_peak`` for ``/stats``."""
        with self._busy_lock:
            self._busy += 1
            self._busy_peak = max(self._busy_peak, self._busy)
        try:
            return decode()
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _decode(
        self, audio: list[np.ndarray], decoding: Decoding, multilingual: bool, partial: Callable[[str], None]
    ) -> list[Transcript]:
        if multilingual:
            recognizer = self._multilingual_recognizer()
            if len(audio) == 1:
                return [recognizer.transcribe(audio[0], decoding, partial)]
            return recognizer.transcribe_many(audio, decoding)
        recognizer = self._idle.get()  # as many recognisers as threads: never waits
        try:
            if len(audio) == 1:
                return [recognizer.transcribe(audio[0], decoding, partial)]
            return recognizer.transcribe_many(audio, decoding)
        finally:
            self._idle.put(recognizer)

    async def analyse(
        self,
        phrases: Sequence[np.ndarray],
        sample_rate: int,
        *,
        decoding: Decoding | None = Decoding(),
        multilingual: bool = False,
        pitch: bool = False,
        on_partial: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[PhraseAnalysis]:
        """Resample, transcribe (unless ``decoding`` is None) and measure the pitch of phrases, in order.

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
            if decoding is None:
                texts = [Transcript("", 0.0) for _ in audio]
            else:
                texts = self._counted(lambda: self._decode(audio, decoding, multilingual, partial))
            return [PhraseAnalysis(t, f0) for t, f0 in zip(texts, pitches, strict=True)]

        return await loop.run_in_executor(self._executor, work)

    def warm_up(self) -> None:
        """Decode a second of quiet on every recogniser, so the first sessions do not pay for lazy set-up."""
        quiet = np.zeros(WHISPER_RATE, dtype=np.float32)
        for recognizer in self._pool:
            recognizer.transcribe(quiet)

    def close(self) -> None:
        """Stop the threads after the decodes in progress."""
        self._executor.shutdown(wait=True, cancel_futures=True)
