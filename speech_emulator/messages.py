"""JSON bodies of the service's messages, in the shapes the SDK parses into results.

Times are 100-ns ticks from the start of the *turn's* audio: the SDK adds the turn's own
offset (``audioOffsetMS`` / the continuation offset) before it shows them to the application.
"""

from __future__ import annotations

from typing import Any

from .recognizer import Transcript, lexical

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


def phrase(
    transcript: Transcript,
    offset: int,
    duration: int,
    *,
    detailed: bool,
    speaker: str | None,
) -> dict[str, Any]:
    """``speech.phrase`` for recognised speech, simple or detailed (``NBest``) format."""
    body: dict[str, Any] = {
        "RecognitionStatus": "Success",
        "Offset": offset,
        "Duration": duration,
        "DisplayText": transcript.text,
        "Channel": 0,
    }
    if detailed:
        words = lexical(transcript.text)
        body["NBest"] = [
            {
                "Confidence": transcript.confidence,
                "Lexical": words,
                # No inverse text normalisation or profanity masking here: Whisper already writes
                # numbers as digits, so ITN and MaskedITN are the lexical form.
                "ITN": words,
                "MaskedITN": words,
                "Display": transcript.text,
            }
        ]
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
