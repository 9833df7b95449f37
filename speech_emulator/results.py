"""From a recogniser's transcript to the text the service would report, option by option.

The recogniser knows nothing of clients: here the turn's options are applied to what it found.
Profanity is filtered in every form (display, lexical, words), word times become ticks from the
turn's start, kept inside the phrase and in order, and the language is named by the client's own
locale (``de-DE``, not Whisper's ``de``).
"""

from __future__ import annotations

from typing import Any

from . import messages, profanity
from .languages import confidence_label
from .options import Recognition
from .recognizer import Transcript, WordTiming, lexical


def phrase_text(
    transcript: Transcript,
    recognition: Recognition,
    *,
    origin: int,
    span: tuple[int, int],
    language: str | None,
) -> messages.PhraseText:
    """The phrase's texts under ``recognition``'s options.

    ``origin`` is the tick (from the turn start) where the phrase's samples begin, to which Whisper's
    word times are relative; ``span`` is the phrase's ``(Offset, Offset + Duration)``.
    ``language`` is the Whisper code it was decoded in, reported only when identification was asked for.
    """
    mode = recognition.profanity
    display = profanity.filter_text(transcript.text, mode)
    words = _words(transcript.words, mode, origin, span) if recognition.words else None
    reported = None
    if recognition.candidates and language is not None:
        reported = (recognition.codes.get(language, language), confidence_label(transcript.language_probability))
    return messages.PhraseText(
        display=display,
        lexical=lexical(display),
        confidence=transcript.confidence,
        words=words,
        language=reported,
    )


def partial_text(text: str, recognition: Recognition) -> str:
    """A ``speech.hypothesis`` text: lexical form, filtered like the final phrase will be."""
    return lexical(profanity.filter_text(text, recognition.profanity))


def _words(
    timings: tuple[WordTiming, ...], mode: profanity.Profanity, origin: int, span: tuple[int, int]
) -> tuple[dict[str, Any], ...]:
    """``NBest[0].Words``: one entry per spoken word, inside the phrase, never going backwards.

    Whisper's word times can reach into the padding around the phrase or overlap by a few ms; the
    service's words lie inside their phrase and follow each other, so they are clamped.
    """
    start, end = span
    out: list[dict[str, Any]] = []
    cursor = start
    for timing in timings:
        shown = profanity.filter_word(timing.text.strip(), mode)
        word = lexical(shown) if shown else ""
        if not word:
            continue  # punctuation only, or a removed word
        offset = min(max(origin + round(timing.start * messages.TICKS_PER_SECOND), cursor), end)
        finish = min(max(origin + round(timing.end * messages.TICKS_PER_SECOND), offset), end)
        confidence = round(min(1.0, max(0.0, timing.probability)), 4)
        out.append(messages.word(word, offset, finish - offset, confidence))
        cursor = finish
    return tuple(out)
