"""Fast transcription's answer as the same ``Segment``s a real-time session gives (``shared.output.phrases``):
words and confidence only when ``words`` is on, the language only when identifying. Read defensively: a
malformed phrase is left out, never a failed recording.
"""

from __future__ import annotations

from typing import Any

from shared.options import RecognitionOptions
from shared.output.phrases import RestResult, phrase_segment, read_phrases, words_within
from shared.output.transcript import Segment


def fast_result(answer: object, options: RecognitionOptions, channel_mode: str) -> RestResult:
    """``answer`` (the response's JSON) as segments; ``channel_mode`` says how speakers were asked for."""
    return read_phrases(answer, "phrases", lambda phrase: _segment(phrase, options, channel_mode))


def _segment(phrase: Any, options: RecognitionOptions, channel_mode: str) -> Segment | None:
    if not isinstance(phrase, dict) or not isinstance(phrase.get("text"), str):
        return None
    return phrase_segment(
        phrase,
        phrase["text"],
        phrase.get("confidence"),
        lambda start, end: words_within(phrase.get("words"), start, end, "text"),
        options,
        channel_mode,
    )
