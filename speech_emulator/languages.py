"""Locales the client speaks in (``de-DE``) and the language codes Whisper decodes in (``de``).

The service, like the SDK, names languages by full locale, but it "only uses the base language"
(Azure docs on language identification): ``en-US`` and ``en-GB`` are one English model. Whisper
knows languages by ISO 639-1 code, so a locale maps to its first subtag, with the few Whisper
spells differently. A locale Whisper cannot decode is refused (the session closes with 1007, the
SDK's BadRequest) instead of being transcribed as some other language.
"""

from __future__ import annotations

from collections.abc import Iterable

ENGLISH = "en"
#: Locale subtags whose Whisper code differs.
_ALIASES = {"nb": "no", "iw": "he", "fil": "tl", "jv": "jw", "zh-hk": "yue"}


def whisper_code(locale: str) -> str:
    """Whisper's code for a locale (``de-DE`` → ``de``); ValueError when Whisper has none."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    lowered = locale.strip().lower().replace("_", "-")
    code = _ALIASES.get(lowered) or _ALIASES.get(lowered.split("-")[0]) or lowered.split("-")[0]
    if code not in _LANGUAGE_CODES:
        raise ValueError(f"language {locale!r} is not supported by the emulator's recogniser")
    return code


def candidate_codes(locales: Iterable[str]) -> dict[str, str]:
    """Whisper code → the first candidate locale with it (what a detected language is reported as)."""
    codes: dict[str, str] = {}
    for locale in locales:
        codes.setdefault(whisper_code(locale), locale)
    return codes


def confidence_label(probability: float) -> str:
    """``PrimaryLanguage.Confidence`` as a word; the SDK reads only ``Language``, so this is informational."""
    if probability >= 0.8:
        return "High"
    if probability >= 0.5:
        return "Medium"
    return "Low"
