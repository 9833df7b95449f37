"""Profanity filtering as the service applies it: ``masked`` (its default), ``removed`` or ``raw``.

The SDK sends the option as ``phraseDetection.enrichment.profanity`` in ``speech.context`` (and as a
``profanity=`` URL query parameter with ``SpeechConfig(host=...)``). The service's word list is its
own; a short list of common English swear words is enough for tests to tell the three modes apart:
a client that shows ``result.text`` must see ``****`` by default, nothing with ``removed``, and the
word only with ``raw``. Whisper's own output is never filtered, so every word that reaches a result
goes through here, which also means tests can use a word that Whisper really hears.

The REST APIs name their modes differently (``profanityFilterMode``: ``None``, ``Masked``, ``Removed``,
``Tags``) and describe ``Masked`` as keeping the first letter ("f***", the REST specification's
``ProfanityFilterMode``); :data:`REST_MODES` maps them to the modes here.
"""

from __future__ import annotations

import re
from typing import Literal

Profanity = Literal["masked", "removed", "raw", "masked-initial", "tags"]
DEFAULT: Profanity = "masked"
#: The websocket's modes (``speech.context``), as the SDK sends them.
MODES: tuple[Profanity, ...] = ("masked", "removed", "raw")
#: The REST APIs' ``profanityFilterMode`` values; ``Masked`` is their default.
REST_MODES: dict[str, Profanity] = {"None": "raw", "Masked": "masked-initial", "Removed": "removed", "Tags": "tags"}

#: Matched on whole words, case-insensitively; inflections are listed, not guessed.
WORDS = frozenset(
    {
        "ass", "asshole", "bastard", "bitch", "bitches", "bullshit", "crap", "damn", "damned", "dick",
        "fuck", "fucked", "fucker", "fucking", "fucks", "goddamn", "motherfucker", "piss", "pissed",
        "shit", "shits", "shitty", "slut", "twat", "wanker", "whore",
    }
)  # fmt: skip
_WORD = re.compile(r"[\w']+")


def parse_mode(value: str | None) -> Profanity:
    """The mode a client asked for (any case); unknown values are refused like a bad request."""
    mode = (value or DEFAULT).strip().lower()
    if mode not in MODES:
        raise ValueError(f"profanity must be one of {', '.join(MODES)}, not {value!r}")
    return mode  # type: ignore[return-value]


def is_profane(word: str) -> bool:
    """Whether ``word`` (punctuation and case ignored) is on the list."""
    return word.strip('.,;:!?"()[]-').lower() in WORDS


def filter_word(word: str, mode: Profanity) -> str | None:
    """One word as the result shows it: masked, None when removed, or as it is."""
    if mode == "raw" or not is_profane(word):
        return word
    if mode == "removed":
        return None
    if mode == "tags":
        return f"<profanity>{word}</profanity>"
    if mode == "masked-initial":
        return word[:1] + re.sub(r"\w", "*", word[1:])
    return re.sub(r"\w", "*", word)


def filter_text(text: str, mode: Profanity) -> str:
    """A whole text (display or lexical form) with every listed word masked or removed."""
    if mode == "raw":
        return text

    def replace(match: re.Match[str]) -> str:
        return filter_word(match.group(0), mode) or ""

    filtered = _WORD.sub(replace, text)
    if mode == "removed":  # no double spaces, no space left before punctuation
        filtered = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", filtered)).strip()
        filtered = re.sub(r"^[.,;:!?]\s*", "", filtered)
    return filtered
