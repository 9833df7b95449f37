"""The SDK configuration of one session: the ``SpeechConfig`` (endpoint, this invocation's token, the
recording's ``RecognitionOptions``, send pacing) and, with language identification, the language configs.

Each function makes new SDK objects and hands them to the caller, ``SpeechSession``, which keeps every one
of them and releases them when it closes: nothing here is cached or shared between sessions.

The token is a string fetched for this invocation and set as a property, never a
``token_credential=``: given a credential, the SDK keeps it inside the recognizer and wires a
token-refresh callback to it, the long-lived-credential pattern this project exists to avoid (see
``shared/platform/credentials.py``).
"""

from __future__ import annotations

import azure.cognitiveservices.speech as speechsdk

from shared.options import RecognitionOptions
from shared.settings import Settings

#: Undocumented SDK pacing properties (``SPEECH_SEND_FAST``). By default the SDK sends a 5 s burst and
#: then 2× real time, which a pipeline billed per second of function time does not want. But it keeps
#: every byte the service has not acknowledged, and a transcriber holding more than 240 s of it cancels
#: with ``ServiceTimeout`` ("the client buffer exceeded maximum size"): sending a long file all at once
#: fails (measured: 10 min of audio at once, cancelled after 0.5 s). So: a burst well under that
#: (60 s), then up to 50× real time; past 120 s unacknowledged the SDK drops to real time by itself
#: (``SPEECH-BufferSizePercentSwitchToLowRate``, 50 %) until the service catches up. The feed's own
#: lead (``shared.speech.feed.MAX_LEAD_SECONDS``) now keeps the unacknowledged audio far below both;
#: they remain a margin.
_FAST_LANE = "SPEECH-TransmitLengthBeforeThrottleMs"
_FAST_LANE_MS = "60000"
_SEND_RATE = "SPEECH-AudioThrottleAsPercentageOfRealTime"
_SEND_RATE_PERCENT = "5000"
_MAX_UNACKNOWLEDGED = "SPEECH-MaxBufferSizeMs"
_MAX_UNACKNOWLEDGED_MS = "480000"

#: The ``profanity`` option as the SDK names it. Always set, ``masked`` too (the service's default): the
#: options say what a transcript was made with, and the service's default is not ours to rely on.
_PROFANITY = {
    "masked": speechsdk.ProfanityOption.Masked,
    "removed": speechsdk.ProfanityOption.Removed,
    "raw": speechsdk.ProfanityOption.Raw,
}

#: ``language_configs``' result: the per-locale source configs (kept, as the auto-detect config is built
#: from them) and the auto-detect config the transcriber takes; ``([], None)`` for one language.
LanguageConfigs = tuple[list[speechsdk.languageconfig.SourceLanguageConfig],
                        speechsdk.languageconfig.AutoDetectSourceLanguageConfig | None]


def options_or_default(settings: Settings, options: RecognitionOptions | None) -> RecognitionOptions:
    """The options a session applies: the caller's, or the app's defaults (the ``SPEECH_*`` settings)."""
    return options if options is not None else settings.recognition


def speech_config(settings: Settings, token: str, options: RecognitionOptions | None = None) -> speechsdk.SpeechConfig:
    """A new config for one session; the session owns it and drops it when it closes.

    Set before the transcriber is made: the transcriber copies the config, later changes do not reach it.
    """
    options = options_or_default(settings, options)
    config = speechsdk.SpeechConfig(endpoint=settings.speech_endpoint)
    if token:  # a string, never token_credential= (shared/platform/credentials.py); none with TOKEN_CREDENTIAL=none
        config.authorization_token = token
    _apply_language(config, options)
    _apply_output(config, options)
    if settings.speech_send_fast:
        config.set_property_by_name(_FAST_LANE, _FAST_LANE_MS)
        config.set_property_by_name(_SEND_RATE, _SEND_RATE_PERCENT)
        config.set_property_by_name(_MAX_UNACKNOWLEDGED, _MAX_UNACKNOWLEDGED_MS)
    return config


def _apply_language(config: speechsdk.SpeechConfig, options: RecognitionOptions) -> None:
    """One language (and its custom model) on the config; with several, only the identification mode.

    With identification the candidates go to the transcriber (``language_configs``), and the config must
    name no language and no ``endpoint_id``: the SDK refuses ``endpoint_id`` with auto-detection, and a
    language would be a second language configuration. ``Continuous``: a language per phrase, not the
    first phrase's for the whole recording (the SDK's default, ``DetectAtAudioStart``).
    """
    if options.identifies_language:
        config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
        return
    language = options.languages[0]
    config.speech_recognition_language = language
    endpoint_id = dict(options.endpoints_by_locale()).get(language)  # the model of this language, or none
    if endpoint_id:
        config.endpoint_id = endpoint_id


def _apply_output(config: speechsdk.SpeechConfig, options: RecognitionOptions) -> None:
    """What the service sends back and how it cuts phrases.

    The detailed format (the service's confidence per segment, ``NBest[0].Confidence``, and each word's
    times and confidence) only when ``words`` is asked for: with ``endpoint=`` SDK 1.53 sends the same
    request for both (``wordLevelTimestamps=true``), and word timings make every result larger and the
    service's work longer, for fields most recordings never need.
    """
    if options.words:
        config.output_format = speechsdk.OutputFormat.Detailed
        config.request_word_level_timestamps()
    config.set_profanity(_PROFANITY[options.profanity])
    if options.segmentation_silence_ms is not None:
        config.set_property(speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs,
                            str(options.segmentation_silence_ms))


def language_configs(options: RecognitionOptions) -> LanguageConfigs:
    """The candidates of language identification, as the transcriber takes them; ``([], None)`` for one language.

    With per-locale custom models each candidate is a ``SourceLanguageConfig(locale, endpoint_id)``
    (a candidate without a model gets one without); otherwise the locales go as they are. Every object
    returned is the caller's to keep and release: the auto-detect config is built from the source configs.
    """
    if not options.identifies_language:
        return [], None
    endpoints = dict(options.endpoints_by_locale())
    if not endpoints:
        return [], speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=list(options.languages))
    sources = [speechsdk.languageconfig.SourceLanguageConfig(locale, endpoints.get(locale))
               for locale in options.languages]
    return sources, speechsdk.languageconfig.AutoDetectSourceLanguageConfig(sourceLanguageConfigs=sources)


def add_phrases(grammar: speechsdk.PhraseListGrammar, options: RecognitionOptions) -> None:
    """Fill the transcriber's phrase list before it starts (phrases added later wait for a reconnection).

    The weight only when given: without one the service's default (1) applies, as without the option.
    """
    for phrase in options.phrases:
        grammar.addPhrase(phrase)
    if options.phrase_weight is not None:
        grammar.setWeight(float(options.phrase_weight))
