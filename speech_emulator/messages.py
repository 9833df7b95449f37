"""JSON bodies of the service's messages, in the shapes the SDK parses into results.

Times are 100-ns ticks from the start of the *turn's* audio: the SDK adds the turn's own
offset (``audioOffsetMS`` / the continuation offset) before it shows them to the application.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TICKS_PER_SECOND = 10_000_000


def ticks(samples: int, sample_rate: int) -> int:
    """Sample count at ``sample_rate`` as 100-ns ticks."""
    return samples * TICKS_PER_SECOND // sample_rate


def ticks_ceil_ms(samples: int, sample_rate: int) -> int:
    """Sample count as ticks rounded *up* to a whole millisecond.

    The SDK acknowledges audio in milliseconds; an end-of-dictation offset that falls short of the
    last sample by a fraction of a millisecond makes it replay that sliver in a continuation turn.
    """
    milliseconds = -(-samples * 1000 // sample_rate)
    return milliseconds * 10_000


@dataclass(frozen=True)
class PhraseText:
    """One recognised phrase in every form the service reports, profanity already filtered."""

    display: str  # DisplayText / NBest[0].Display
    lexical: str  # NBest[0].Lexical (also ITN and MaskedITN: Whisper already writes digits)
    confidence: float
    words: tuple[dict[str, Any], ...] | None = None  # NBest[0].Words entries, when asked for
    language: tuple[str, str] | None = None  # (locale, confidence label) for PrimaryLanguage


def turn_start(service_tag: str) -> dict[str, Any]:
    return {"context": {"serviceTag": service_tag}}


def offset_only(offset: int) -> dict[str, Any]:
    """Body of ``speech.startDetected`` and ``speech.endDetected``."""
    return {"Offset": offset}


def hypothesis(text: str, offset: int, duration: int, *, diarize: bool) -> dict[str, Any]:
    """``speech.hypothesis``: the SDK's ``recognizing`` / ``transcribing`` event."""
    body: dict[str, Any] = {"Text": text, "Offset": offset, "Duration": duration}
    if diarize:
        body["SpeakerId"] = "Unknown"  # the service decides the speaker only on the final phrase
    return body


def word(text: str, offset: int, duration: int, confidence: float) -> dict[str, Any]:
    """One ``NBest[0].Words`` entry: the lexical word, ticks from the turn start, confidence 0-1."""
    return {"Word": text, "Offset": offset, "Duration": duration, "Confidence": confidence}


def phrase(
    text: PhraseText,
    offset: int,
    duration: int,
    *,
    detailed: bool,
    speaker: str | None,
) -> dict[str, Any]:
    """``speech.phrase`` for recognised speech, simple or detailed (``NBest``) format.

    ``PrimaryLanguage.Language`` is what the SDK surfaces as
    ``AutoDetectSourceLanguageResult.language`` (property ``SpeechServiceConnection_AutoDetectSourceLanguageResult``).
    """
    body: dict[str, Any] = {
        "RecognitionStatus": "Success",
        "Offset": offset,
        "Duration": duration,
        "DisplayText": text.display,
        "Channel": 0,
    }
    if text.language is not None:
        body["PrimaryLanguage"] = {"Language": text.language[0], "Confidence": text.language[1]}
    if detailed:
        best: dict[str, Any] = {
            "Confidence": text.confidence,
            "Lexical": text.lexical,
            "ITN": text.lexical,
            "MaskedITN": text.lexical,
            "Display": text.display,
        }
        if text.words is not None:
            best["Words"] = list(text.words)
        body["NBest"] = [best]
    if speaker is not None:
        body["SpeakerId"] = speaker
    return body


def no_match(offset: int, duration: int, *, status: str = "NoMatch", speaker: str | None = None) -> dict[str, Any]:
    """A phrase with no text (``NoMatch`` or ``InitialSilenceTimeout``): the SDK's NoMatch result."""
    body: dict[str, Any] = {"RecognitionStatus": status, "Offset": offset, "Duration": duration, "Channel": 0}
    if speaker is not None:
        body["SpeakerId"] = speaker
    return body


def end_of_dictation(offset: int) -> dict[str, Any]:
    """Acknowledges all audio up to ``offset``, so the SDK does not replay it in a new turn."""
    return {"RecognitionStatus": "EndOfDictation", "Offset": offset, "Duration": 0}
