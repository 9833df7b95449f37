"""The locales real-time speech to text accepts, so a typo is refused before any session starts.

From the Speech service's language-support table for speech to text (real-time transcription),
``articles/ai-services/speech-service/includes/language-support/stt.md`` in MicrosoftDocs/azure-ai-docs,
as of April 2026. A locale added by the service later is refused here until this list learns it: the
error names the rule, and a Speech container or custom deployment can be reached with the locales it
documents by adding them here.
"""

from __future__ import annotations

#: Every locale the service lists for real-time speech to text, as written there (BCP-47).
SPEECH_TO_TEXT_LOCALES = frozenset({
    "af-ZA", "am-ET", "ar-AE", "ar-BH", "ar-DZ", "ar-EG", "ar-IL", "ar-IQ", "ar-JO", "ar-KW", "ar-LB",
    "ar-LY", "ar-MA", "ar-OM", "ar-PS", "ar-QA", "ar-SA", "ar-SY", "ar-TN", "ar-YE", "as-IN", "az-AZ",
    "bg-BG", "bn-IN", "bs-BA", "ca-ES", "cs-CZ", "cy-GB", "da-DK", "de-AT", "de-CH", "de-DE", "el-GR",
    "en-AU", "en-CA", "en-GB", "en-GH", "en-HK", "en-IE", "en-IN", "en-KE", "en-NG", "en-NZ", "en-PH",
    "en-SG", "en-TZ", "en-US", "en-ZA", "es-AR", "es-BO", "es-CL", "es-CO", "es-CR", "es-CU", "es-DO",
    "es-EC", "es-ES", "es-GQ", "es-GT", "es-HN", "es-MX", "es-NI", "es-PA", "es-PE", "es-PR", "es-PY",
    "es-SV", "es-US", "es-UY", "es-VE", "et-EE", "eu-ES", "fa-IR", "fi-FI", "fil-PH", "fr-BE", "fr-CA",
    "fr-CH", "fr-FR", "ga-IE", "gl-ES", "gu-IN", "he-IL", "hi-IN", "hr-HR", "hu-HU", "hy-AM", "id-ID",
    "is-IS", "it-CH", "it-IT", "ja-JP", "jv-ID", "ka-GE", "kk-KZ", "km-KH", "kn-IN", "ko-KR", "lo-LA",
    "lt-LT", "lv-LV", "mk-MK", "ml-IN", "mn-MN", "mr-IN", "ms-MY", "mt-MT", "my-MM", "nb-NO", "ne-NP",
    "nl-BE", "nl-NL", "or-IN", "pa-IN", "pl-PL", "ps-AF", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "si-LK",
    "sk-SK", "sl-SI", "so-SO", "sq-AL", "sr-RS", "sv-SE", "sw-KE", "sw-TZ", "ta-IN", "te-IN", "th-TH",
    "tr-TR", "uk-UA", "ur-IN", "uz-UZ", "vi-VN", "wuu-CN", "yue-CN", "zh-CN", "zh-CN-shandong",
    "zh-CN-sichuan", "zh-HK", "zh-TW", "zu-ZA",
})

_BY_LOWER = {locale.lower(): locale for locale in SPEECH_TO_TEXT_LOCALES}


def canonical_locale(value: str) -> str | None:
    """``value`` as the service writes it (``de-de`` → ``de-DE``), or ``None`` when it is not one it lists."""
    return _BY_LOWER.get(value.strip().lower())


def base_language(locale: str) -> str:
    """The language part of a locale (``de`` for ``de-AT``): identification takes one locale per language."""
    return locale.split("-")[0].lower()
