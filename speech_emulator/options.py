"""What a client asked for: the upgrade URL (``Route``) and each turn's ``speech.context`` (``TurnOptions``).

Where SDK 1.53 puts each option on the wire (observed with ``SpeechConfig(endpoint="ws://...")``;
the README's "Recognition options" section has the full messages):

=====================  ====================================================  ==========================
option                 speech.context                                        URL query
=====================  ====================================================  ==========================
language               ``phraseDetection.language``                          ``language=en-us``
language id            ``languageId.languages`` + ``languageId.mode``         (none)
                       (``DetectAtAudioStart`` / ``DetectContinuous``)
phrase list            ``dgi.Groups[].Items[].Text``, ``dgi.bias`` (weight)   (none)
custom model           ``phraseDetection.customModels[]`` (per language)     ``cid=<endpoint id>``
word timings           ``phraseOutput.detailed.options`` ⊇ ``WordTimings``    ``wordLevelTimestamps=true``
detailed format        ``phraseOutput.format: Detailed``                      ``format=detailed``
profanity              ``phraseDetection.enrichment.profanity``              ``profanity=masked``
segmentation silence   ``phraseDetection.<MODE>.segmentation.                (none)
                       segmentationSilenceTimeoutMs``
=====================  ====================================================  ==========================

The context wins over the URL: with ``endpoint=`` the SDK puts most options only in the context.
Malformed values raise ``ProtocolError``: the session closes with 1007, the SDK's BadRequest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import profanity
from .languages import ENGLISH, candidate_codes, whisper_code
from .protocol import ProtocolError

#: The pause that ends a phrase when the client does not set one (seconds).
DEFAULT_SILENCE_MS = 500
#: The range the service documents for ``Speech_SegmentationSilenceTimeoutMs``.
SILENCE_RANGE_MS = (100, 5000)


@dataclass(frozen=True)
class Route:
    """What the upgrade request's URL says about the session."""

    path: str
    mode: str | None  # interactive / conversation / dictation from the v1 path; None for universal/v2
    query: dict[str, str]
    turn_phrases: int = 0  # from the turn-phrases query parameter


@dataclass(frozen=True)
class Recognition:
    """How to turn a phrase into text: the per-recording options of issue 19."""

    language: str = "en-US"  # the locale decoded when no identification is asked for
    candidates: tuple[str, ...] = ()  # language identification among these locales; () for none
    continuous_lid: bool = False  # DetectContinuous: a language per phrase, else one for the session
    phrases: tuple[str, ...] = ()  # the phrase list
    phrase_weight: float = 1.0
    profanity: profanity.Profanity = profanity.DEFAULT
    words: bool = False  # NBest[0].Words with offsets and confidences
    silence_ms: int = DEFAULT_SILENCE_MS
    custom_model: str | None = None  # cid= / customModels: accepted and logged, not used

    @property
    def codes(self) -> dict[str, str]:
        """Whisper code → reported locale of the languages this turn may be in."""
        return candidate_codes(self.candidates or (self.language,))

    @property
    def multilingual(self) -> bool:
        """True when English-only tiny.en cannot serve it (another language, or a choice to make)."""
        return set(self.codes) != {ENGLISH}

    def summary(self) -> str:
        """The options that differ from the defaults, for the session's log line (``-`` for none)."""
        parts = []
        if self.candidates:
            parts.append(f"lid={'continuous' if self.continuous_lid else 'at-start'}")
        if self.phrases:
            parts.append(f"phrases={len(self.phrases)}@{self.phrase_weight:g}")
        if self.words:
            parts.append("words")
        if self.profanity != profanity.DEFAULT:
            parts.append(f"profanity={self.profanity}")
        if self.silence_ms != DEFAULT_SILENCE_MS:
            parts.append(f"silence={self.silence_ms}ms")
        if self.custom_model:
            parts.append(f"cid={self.custom_model}")
        return ",".join(parts) or "-"


@dataclass(frozen=True)
class TurnOptions:
    """Per-turn settings: the ``speech.context`` wins over the URL (``endpoint=`` sends no query)."""

    mode: str
    detailed: bool
    diarize: bool
    base_ticks: int  # where this turn's audio starts in the session (continuation turns)
    turn_phrases: int  # end the turn after this many phrases (0: at the end of the audio)
    recognition: Recognition

    @property
    def language(self) -> str:
        """What the session log shows as the language."""
        rec = self.recognition
        return "+".join(rec.candidates) if rec.candidates else rec.language

    @classmethod
    def from_context(cls, context: dict[str, Any], route: Route) -> TurnOptions:
        detection = _section(context, "phraseDetection")
        output = _section(context, "phraseOutput")
        mode = str(detection.get("mode") or route.mode or "conversation").lower()
        detailed = str(output.get("format") or route.query.get("format") or "simple").lower() == "detailed"
        return cls(
            mode=mode,
            detailed=detailed or _words(output, route),
            diarize=detection.get("speakerDiarization") is not None,
            base_ticks=_turn_offset(context),
            turn_phrases=1 if mode == "interactive" else route.turn_phrases,
            recognition=_recognition(context, route),
        )


def _section(context: dict[str, Any], name: str) -> dict[str, Any]:
    value = context.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"speech.context: {name} is not an object")
    return value


def _recognition(context: dict[str, Any], route: Route) -> Recognition:
    detection = _section(context, "phraseDetection")
    try:
        candidates, continuous = _language_id(_section(context, "languageId"))
        rec = Recognition(
            language=str(detection.get("language") or route.query.get("language") or "en-US"),
            candidates=candidates,
            continuous_lid=continuous,
            phrases=_phrase_list(_section(context, "dgi")),
            phrase_weight=_phrase_weight(_section(context, "dgi")),
            profanity=profanity.parse_mode(
                _section(detection, "enrichment").get("profanity") or route.query.get("profanity")
            ),
            words=_words(_section(context, "phraseOutput"), route),
            silence_ms=_silence_ms(detection),
            custom_model=_custom_model(detection, route),
        )
        rec.codes  # noqa: B018 - refuse a language Whisper cannot decode now, not at the first phrase
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"speech.context: {exc}") from exc
    return rec


def _language_id(section: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """Candidate locales and whether identification is continuous (per phrase)."""
    languages = section.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise ValueError("languageId.languages must be a list of locales")
    for code in languages:
        whisper_code(code)  # unknown locales are refused up front
    mode = str(section.get("mode") or "DetectAtAudioStart")
    return tuple(languages), mode.lower() == "detectcontinuous"


def _phrase_list(section: dict[str, Any]) -> tuple[str, ...]:
    phrases: list[str] = []
    for group in section.get("Groups") or ():
        for item in (group or {}).get("Items") or ():
            text = str((item or {}).get("Text") or "").strip()
            if text and text not in phrases:
                phrases.append(text)
    return tuple(phrases)


def _phrase_weight(section: dict[str, Any]) -> float:
    weight = float(section.get("bias", 1.0))
    if not 0.0 <= weight <= 2.0:
        raise ValueError(f"phrase list weight must be within 0-2, not {weight:g}")
    return weight


def _words(output: dict[str, Any], route: Route) -> bool:
    options = ((output.get("detailed") or {}).get("options")) or ()
    return "WordTimings" in options or route.query.get("wordLevelTimestamps", "").lower() == "true"


def _silence_ms(detection: dict[str, Any]) -> int:
    """``phraseDetection.<MODE>.segmentation.segmentationSilenceTimeoutMs`` (the key is the mode, upper case)."""
    for key, value in detection.items():
        segmentation = value.get("segmentation") if isinstance(value, dict) and key.isupper() else None
        if isinstance(segmentation, dict) and "segmentationSilenceTimeoutMs" in segmentation:
            silence = int(segmentation["segmentationSilenceTimeoutMs"])
            low, high = SILENCE_RANGE_MS
            if not low <= silence <= high:
                raise ValueError(f"segmentationSilenceTimeoutMs must be within {low}-{high}, not {silence}")
            return silence
    return DEFAULT_SILENCE_MS


def _custom_model(detection: dict[str, Any], route: Route) -> str | None:
    models = detection.get("customModels") or ()
    named = [f"{m.get('language')}:{m.get('endpoint')}" for m in models if isinstance(m, dict)]
    return route.query.get("cid") or (",".join(named) if named else None)


def _turn_offset(context: dict[str, Any]) -> int:
    """A continuation turn's start in the session, in ticks (0 for a first turn)."""
    try:
        streams = ((context.get("continuation") or {}).get("audio") or {}).get("streams") or {}
        for stream in streams.values():
            if isinstance(stream, dict) and "offset" in stream:
                return int(stream["offset"])
        diarization = (context.get("phraseDetection") or {}).get("speakerDiarization") or {}
        return int(diarization.get("audioOffsetMS") or 0) * 10_000
    except (AttributeError, TypeError, ValueError) as exc:
        raise ProtocolError(f"speech.context: unreadable audio offset: {exc}") from exc
