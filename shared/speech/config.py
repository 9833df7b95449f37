"""The SDK configuration of one session: the ``SpeechConfig`` (endpoint, token, the recording's options, send
pacing) and the language-identification configs, each new, for ``SpeechSession`` to keep and release.

The token is set as a string, never ``token_credential=`` (``shared/platform/credentials.py`` says why).
"""

from __future__ import annotations

import azure.cognitiveservices.speech as speechsdk

from shared.audio import PcmReader
from shared.options import RecognitionOptions
from shared.output.phrases import SINGLE_SPEAKER
from shared.settings import Settings
from shared.speech.segments import SegmentFields

#: Undocumented SDK pacing properties (``SPEECH_SEND_FAST``): the SDK's default pace is slow for a pipeline
#: billed per second, yet too much unacknowledged audio cancels the session. So a burst well under that limit,
#: then a fast rate; the feed's lead keeps far below both (docs/performance.md, section 3).
_FAST_LANE = "SPEECH-TransmitLengthBeforeThrottleMs"
_FAST_LANE_MS = "60000"
_SEND_RATE = "SPEECH-AudioThrottleAsPercentageOfRealTime"
_SEND_RATE_PERCENT = "5000"
_MAX_UNACKNOWLEDGED = "SPEECH-MaxBufferSizeMs"
_MAX_UNACKNOWLEDGED_MS = "480000"

#: The ``profanity`` option as the SDK names it; always set, ``masked`` too: the service's default is not ours.
_PROFANITY = {
    "masked": speechsdk.ProfanityOption.Masked,
    "removed": speechsdk.ProfanityOption.Removed,
    "raw": speechsdk.ProfanityOption.Raw,
}

#: ``language_configs``' result: the per-locale source configs and the auto-detect config built from them.
LanguageConfigs = tuple[
    list[speechsdk.languageconfig.SourceLanguageConfig], speechsdk.languageconfig.AutoDetectSourceLanguageConfig | None
]


def options_or_default(settings: Settings, options: RecognitionOptions | None) -> RecognitionOptions:
    """The options a session applies: the caller's, or the app's defaults (the ``SPEECH_*`` settings)."""
    return options if options is not None else settings.recognition


def speech_config(settings: Settings, token: str, options: RecognitionOptions | None = None) -> speechsdk.SpeechConfig:
    """A new config for one session, complete before the transcriber is made: it copies the config."""
    options = options_or_default(settings, options)
    config = speechsdk.SpeechConfig(endpoint=settings.speech_endpoint)
    if token:  # a string, never token_credential=; none with TOKEN_CREDENTIAL=none
        config.authorization_token = token
    _apply_language(config, options)
    _apply_output(config, options)
    if settings.speech_send_fast:
        config.set_property_by_name(_FAST_LANE, _FAST_LANE_MS)
        config.set_property_by_name(_SEND_RATE, _SEND_RATE_PERCENT)
        config.set_property_by_name(_MAX_UNACKNOWLEDGED, _MAX_UNACKNOWLEDGED_MS)
    return config


def _apply_language(config: speechsdk.SpeechConfig, options: RecognitionOptions) -> None:
    """One language (and its custom model) on the config; with several, only the identification mode: the
    SDK refuses ``endpoint_id`` with auto-detection, and ``Continuous`` gives each phrase its language, not
    the first phrase's (``DetectAtAudioStart``, the default)."""
    if options.identifies_language:
        config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
        return
    language = options.languages[0]
    config.speech_recognition_language = language
    endpoint_id = dict(options.endpoints_by_locale()).get(language)  # the model of this language, or none
    if endpoint_id:
        config.endpoint_id = endpoint_id


def _apply_output(config: speechsdk.SpeechConfig, options: RecognitionOptions) -> None:
    """What the service sends back and how it cuts phrases. The detailed format (confidence, timed words)
    only with ``words``: with ``endpoint=`` SDK 1.53 then asks for word timings too, making every result larger."""
    if options.words:
        config.output_format = speechsdk.OutputFormat.Detailed
        config.request_word_level_timestamps()
    config.set_profanity(_PROFANITY[options.profanity])
    if options.segmentation_silence_ms is not None:
        config.set_property(
            speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, str(options.segmentation_silence_ms)
        )


def language_configs(options: RecognitionOptions) -> LanguageConfigs:
    """The candidates of language identification, for the caller to keep and release; ``([], None)`` for one
    language. With custom models each is a ``SourceLanguageConfig(locale, endpoint_id)``."""
    if not options.identifies_language:
        return [], None
    endpoints = dict(options.endpoints_by_locale())
    if not endpoints:
        return [], speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=list(options.languages))
    sources = [
        speechsdk.languageconfig.SourceLanguageConfig(locale, endpoints.get(locale)) for locale in options.languages
    ]
    return sources, speechsdk.languageconfig.AutoDetectSourceLanguageConfig(sourceLanguageConfigs=sources)


def phrase_list(
    transcriber: speechsdk.transcription.ConversationTranscriber, options: RecognitionOptions
) -> speechsdk.PhraseListGrammar | None:
    """The transcriber's phrase list, filled before it starts (later phrases wait for a reconnection); none
    without phrases. The weight only when given, else the service's default."""
    if not options.phrases:
        return None
    grammar = speechsdk.PhraseListGrammar.from_recognizer(transcriber)
    for phrase in options.phrases:
        grammar.addPhrase(phrase)
    if options.phrase_weight is not None:
        grammar.setWeight(float(options.phrase_weight))
    return grammar


def segment_fields(options: RecognitionOptions) -> SegmentFields:
    """What each segment carries: words and confidence when asked for, its language when identifying, one
    speaker label without diarization."""
    return SegmentFields(
        words=options.words,
        language=options.identifies_language,
        speaker=None if options.diarization else SINGLE_SPEAKER,
    )


def channel_label(reader: PcmReader, options: RecognitionOptions) -> str:
    """The speaker label of a channel's segments: its name if the options give one, else ``Channel-N``."""
    names = options.channel_names
    return names[reader.index] if reader.index < len(names) else reader.label
