"""Recognition options: what may be asked of one recording's transcription, in one validated object.

One app serves many teams, so each recording may say how it is to be recognised. The defaults come
from app settings (``SPEECH_LANGUAGE``, ``SPEECH_PHRASES``, ...); every door can override them per
recording with the same names and rules:

- the HTTP query: ``POST /api/transcriptions?languages=en-US,de-DE&words=true``;
- the JSON ``options`` of ``POST /api/uploads`` (kept in the job's status document);
- blob metadata on a recording dropped into the container (``x-ms-meta-languages``, ...);
- ``python -m shared.transcribe`` flags (``--languages``, ``--phrases``, ``--words``, ...).

An option that breaks a rule is ``InvalidOptionsError`` (HTTP 400; on the blob path the permanent
``invalid_options`` in ``.error.json``), naming the option and the rule, before any token is fetched:
the Speech service would refuse it, or worse, take it and do something else. In JSON each value has its
option's JSON type, and ``null`` means the same for every option: its own default in the first column
below (what the service does unasked), so the options a job stores read back as they were.

=========================  =================================================================================
option                     rule
=========================  =================================================================================
``languages``              1-10 locales the service lists (``shared.locales``), one per base language;
                           more than one turns on language identification (continuous: per segment)
``phrases``                at most 500 phrases of 1-100 characters (a phrase list: names, jargon)
``phrase_weight``          0-2, how strongly the phrase list biases recognition (service default 1)
``custom_endpoint_id``     a custom speech model's endpoint id; with several languages, one per locale:
                           ``de-DE=<id>,en-US=<id>`` (each locale once, each one of the ``languages``)
``words``                  ``true``: every segment gets its words with times and confidence
``profanity``              ``masked`` (the service's default), ``removed`` or ``raw``
``segmentation_silence_ms``  100-5000: the pause that ends a phrase
``channel_names``          with ``CHANNEL_MODE=separate`` only: a speaker name per channel, ``Agent,Customer``
``diarization``            ``false``: one speaker label for the whole recording
=========================  =================================================================================
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import unquote

from shared.errors import InvalidOptionsError
from shared.locales import base_language, canonical_locale

MAX_LANGUAGES = 10
MAX_PHRASES, MAX_PHRASE_CHARS = 500, 100
MAX_PHRASE_WEIGHT = 2.0
SEGMENTATION_MS = (100, 5000)
PROFANITY_MODES = ("masked", "removed", "raw")
#: ``CHANNEL_MODE=separate`` transcribes at most this many channels one by one (more are mixed), so no
#: more can be named. The rule lives here, not in ``shared.audio``, which loads PyAV on import: the
#: settings import this module on every cold start, and ``shared.audio`` can import it from here.
MAX_SEPARATE_CHANNELS = 4
MAX_CHANNEL_NAMES, MAX_CHANNEL_NAME_CHARS = MAX_SEPARATE_CHANNELS, 24
_ENDPOINT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_CHANNEL_NAME = re.compile(rf"[\w .'-]{{1,{MAX_CHANNEL_NAME_CHARS}}}")
#: The options given as lists; in text, comma-separated.
_LISTS = ("languages", "phrases", "channel_names")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
#: Unicode categories no phrase may hold: control characters (NUL, line breaks, ...), which the service would
#: take as part of the phrase, and unpaired surrogates, which no UTF-8 document (a job's status) can store.
_UNPRINTABLE = ("Cc", "Cs")


@dataclass(frozen=True)
class RecognitionOptions:
    """How one recording is recognised. Build with ``parse_text``/``parse_document``, which validate."""

    languages: tuple[str, ...] = ("en-US",)
    phrases: tuple[str, ...] = ()
    phrase_weight: float | None = None
    #: One custom model for the recording's single language.
    custom_endpoint_id: str | None = None
    #: ``(locale, endpoint id)`` pairs: the custom model of each candidate when identifying the language.
    custom_endpoint_ids: tuple[tuple[str, str], ...] = ()
    words: bool = False
    profanity: str = "masked"
    segmentation_silence_ms: int | None = None
    channel_names: tuple[str, ...] = ()
    diarization: bool = True

    @property
    def identifies_language(self) -> bool:
        return len(self.languages) > 1

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``parse_document`` reads back: a job's status document keeps it, a transcript shows it."""
        body = asdict(self)
        del body["custom_endpoint_ids"]
        body["custom_endpoint_id"] = dict(self.custom_endpoint_ids) or self.custom_endpoint_id
        return {key: list(value) if isinstance(value, tuple) else value for key, value in body.items()}

    def check_channels(self, channel_mode: str) -> None:
        """``channel_names`` name the channels of ``CHANNEL_MODE=separate``; with a mix there are none."""
        if self.channel_names and channel_mode != "separate":
            raise InvalidOptionsError("channel_names: only with CHANNEL_MODE=separate (the channels are mixed now)")


#: The option names every door accepts.
OPTION_NAMES = tuple(f.name for f in fields(RecognitionOptions) if f.name != "custom_endpoint_ids")
#: Each option's own default: what ``null`` means in JSON.
_OWN_DEFAULTS = RecognitionOptions()


def parse_text(values: Mapping[str, str], base: RecognitionOptions, *, percent_encoded: bool = False,
               channel_mode: str | None = None) -> RecognitionOptions:
    """Options given as text (a query string, blob metadata, flags), over ``base``; keys are option names.

    Lists are comma-separated. Blob metadata is ASCII only, so it percent-encodes the rest
    (``Z%C3%BCrich``; a comma inside a phrase as ``%2C``): it says ``percent_encoded=True``, and each
    item is decoded after the split. Text that is already plain (an HTTP query the host decoded, flags,
    app settings) is not decoded again: ``50%25`` would become ``50%``. Every door passes the app's
    ``channel_mode``, so ``channel_names`` with a mix is refused in the same step (``_over``).
    """
    decode = unquote if percent_encoded else str
    given = {key.lower(): str(value) for key, value in values.items()}
    refuse_unknown(given)
    changes: dict[str, object] = {}
    for name, raw in given.items():
        if name in _LISTS:
            items = (decode(part).strip() for part in raw.split(","))
            changes[name] = tuple(item for item in items if item)
            continue
        text = decode(raw).strip()
        if name == "custom_endpoint_id":
            changes.update(endpoint_fields(text))
        elif name in ("words", "diarization"):
            changes[name] = _flag(name, text)
        elif name in ("phrase_weight", "segmentation_silence_ms"):
            changes[name] = _number(name, text)
        else:  # profanity
            changes[name] = text.lower()
    return _over(base, changes, channel_mode)


def parse_document(document: object, base: RecognitionOptions, *,
                   channel_mode: str | None = None) -> RecognitionOptions:
    """Options given as JSON (``{"languages": ["en-US", "de-DE"], "words": true}``), over ``base``."""
    if not isinstance(document, Mapping):
        raise InvalidOptionsError("options: must be a JSON object of option names and values")
    refuse_unknown(document)
    changes: dict[str, object] = {}
    for name, value in document.items():
        changes.update(_json_option(name, value))
    return _over(base, changes, channel_mode)


def _json_option(name: str, value: object) -> dict[str, object]:
    """One JSON option as fields of ``RecognitionOptions``, not yet validated; a value of another JSON type is
    refused here, before anything could ``str()`` a nested list or ``float()`` a 400-digit integer."""
    if value is None:  # the option's own default, alike for every option
        return endpoint_fields(None) if name == "custom_endpoint_id" else {name: getattr(_OWN_DEFAULTS, name)}
    if name == "custom_endpoint_id":
        return endpoint_fields(value)
    if name in _LISTS:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidOptionsError(f"{name}: must be a list of strings, not {_shown(value)}")
        return {name: tuple(item.strip() for item in value)}
    if name in ("words", "diarization"):
        if not isinstance(value, bool):
            raise InvalidOptionsError(f"{name}: must be true or false, not {_shown(value)}")
        return {name: value}
    if name in ("phrase_weight", "segmentation_silence_ms"):
        if isinstance(value, str):
            raise InvalidOptionsError(f"{name}: a JSON number, not {_shown(value)}")
        return {name: _number(name, value)}
    if not isinstance(value, str):  # profanity
        raise InvalidOptionsError(f"{name}: one of {', '.join(PROFANITY_MODES)}, not {_shown(value)}")
    return {name: value.strip().lower()}


def endpoints_by_locale(options: RecognitionOptions) -> tuple[tuple[str, str], ...]:
    """Every custom model with the locale it is for: a bare id is the model of the one language."""
    if options.custom_endpoint_id:
        return ((options.languages[0], options.custom_endpoint_id),)
    return options.custom_endpoint_ids


def _over(base: RecognitionOptions, changes: dict[str, object], channel_mode: str | None) -> RecognitionOptions:
    """``base`` with a door's ``changes``, validated; with the app's ``channel_mode`` (every door gives it),
    ``channel_names`` are checked against it too.

    A default custom model is the model of a default language. A door that lists other languages and
    names no model has not asked for the defaults' models of languages it no longer lists: those are
    dropped, not refused (it never sent them) and not applied to another language (an English model on
    German audio). A model the caller gives is refused when its locale is not one of the languages.
    """
    if "languages" in changes and "custom_endpoint_id" not in changes:
        listed = {canonical_locale(value) for value in changes["languages"]}
        kept = tuple(pair for pair in endpoints_by_locale(base) if canonical_locale(pair[0]) in listed)
        changes = {**changes, "custom_endpoint_id": None, "custom_endpoint_ids": kept}
    options = validated(replace(base, **changes))
    if channel_mode is not None:
        options.check_channels(channel_mode)
    return options


def validated(options: RecognitionOptions) -> RecognitionOptions:
    """``options`` with locales in the service's spelling, or ``InvalidOptionsError`` naming a broken rule."""
    languages = _languages(options.languages)
    _check_phrases(options.phrases, options.phrase_weight)
    ids = _check_endpoints(options, languages)
    if options.profanity not in PROFANITY_MODES:
        raise InvalidOptionsError(f"profanity: one of {', '.join(PROFANITY_MODES)}, not {options.profanity!r}")
    low, high = SEGMENTATION_MS
    silence = options.segmentation_silence_ms
    if silence is not None and (silence != int(silence) or not low <= silence <= high):
        raise InvalidOptionsError(f"segmentation_silence_ms: a whole number from {low} to {high}, not {silence:g}")
    _check_channel_names(options.channel_names)
    return replace(options, languages=languages, custom_endpoint_ids=ids,
                   segmentation_silence_ms=None if silence is None else int(silence))


def _languages(given: tuple[str, ...]) -> tuple[str, ...]:
    if not 1 <= len(given) <= MAX_LANGUAGES:
        raise InvalidOptionsError(f"languages: 1 to {MAX_LANGUAGES} locales, not {len(given)}")
    found = []
    for value in given:
        locale = canonical_locale(value)
        if locale is None:
            raise InvalidOptionsError(f"languages: {value[:20]!r} is not a locale the Speech service transcribes")
        found.append(locale)
    bases = [base_language(locale) for locale in found]
    if len(found) > 1 and len(set(bases)) != len(bases):
        raise InvalidOptionsError("languages: one locale per language when identifying among several "
                                  f"(got {', '.join(found)})")
    return tuple(found)


def _check_phrases(phrases: tuple[str, ...], weight: float | None) -> None:
    if len(phrases) > MAX_PHRASES:
        raise InvalidOptionsError(f"phrases: at most {MAX_PHRASES}, not {len(phrases)}")
    for phrase in phrases:
        if not 1 <= len(phrase) <= MAX_PHRASE_CHARS:
            raise InvalidOptionsError(f"phrases: each 1 to {MAX_PHRASE_CHARS} characters, not {len(phrase)} "
                                      f"({phrase[:20]!r}...)")
        if any(unicodedata.category(char) in _UNPRINTABLE for char in phrase):
            raise InvalidOptionsError(f"phrases: no control characters or unpaired surrogates, as in {phrase[:20]!r}")
    if weight is not None and not 0 <= weight <= MAX_PHRASE_WEIGHT:
        raise InvalidOptionsError(f"phrase_weight: from 0 to {MAX_PHRASE_WEIGHT:g}, not {weight!r}")


def _check_endpoints(options: RecognitionOptions, languages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    ids: dict[str, str] = {}
    for locale, endpoint in options.custom_endpoint_ids:
        canonical = canonical_locale(locale)
        if canonical not in languages:
            raise InvalidOptionsError(f"custom_endpoint_id: {locale[:20]!r} is not one of the languages")
        if canonical in ids:
            raise InvalidOptionsError(f"custom_endpoint_id: one id per locale, {canonical} is given twice")
        ids[canonical] = endpoint
    for endpoint in [options.custom_endpoint_id, *ids.values()]:
        if endpoint is not None and not _ENDPOINT_ID.fullmatch(endpoint):
            raise InvalidOptionsError(f"custom_endpoint_id: an endpoint id of letters, digits and -, "
                                      f"not {_shown(endpoint)}")
    if options.custom_endpoint_id and len(languages) > 1:
        raise InvalidOptionsError("custom_endpoint_id: with several languages give one per locale, "
                                  "e.g. de-DE=<id>,en-US=<id>")
    return tuple(ids.items())


def _check_channel_names(names: tuple[str, ...]) -> None:
    if len(names) > MAX_CHANNEL_NAMES:
        raise InvalidOptionsError(f"channel_names: at most {MAX_CHANNEL_NAMES}, not {len(names)}")
    for name in names:
        if not _CHANNEL_NAME.fullmatch(name):
            raise InvalidOptionsError(f"channel_names: each 1 to {MAX_CHANNEL_NAME_CHARS} letters, digits, spaces "
                                      f"or . ' -, not {name[:30]!r}")


def endpoint_fields(value: object) -> dict[str, object]:
    """``id`` or ``locale=id,...`` (text), or ``{"de-DE": "id"}`` (JSON, as ``to_dict`` writes it) → the two
    option fields, ``custom_endpoint_id`` and ``custom_endpoint_ids``, not yet validated."""
    if isinstance(value, Mapping):
        if not all(isinstance(item, str) for pair in value.items() for item in pair):
            raise InvalidOptionsError("custom_endpoint_id: an object's locales and ids must be strings")
        return {"custom_endpoint_id": None, "custom_endpoint_ids": tuple(value.items())}
    if value is not None and not isinstance(value, str):
        raise InvalidOptionsError(f"custom_endpoint_id: an id, locale=id pairs or an object, not {_shown(value)}")
    text = (value or "").strip()
    if "=" not in text:
        return {"custom_endpoint_id": text or None, "custom_endpoint_ids": ()}
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise InvalidOptionsError("custom_endpoint_id: an id, or locale=id pairs separated by commas")
    return {"custom_endpoint_id": None, "custom_endpoint_ids": tuple((k.strip(), v.strip()) for k, v in pairs)}


def _flag(name: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise InvalidOptionsError(f"{name}: true or false, not {text[:20]!r}")


def _number(name: str, value: object) -> float:
    """A finite number from text or a JSON number; a 400-digit integer is refused, not an ``OverflowError``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidOptionsError(f"{name}: a number, not {_shown(value)}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidOptionsError(f"{name}: a number, not {_shown(value)}") from None
    except OverflowError:
        number = float("inf")
    if not math.isfinite(number):
        raise InvalidOptionsError(f"{name}: a finite number, not {_shown(value)}")
    return number


def _shown(value: object) -> str:
    """``value`` as an error message may quote it: short, and never through ``str()`` of a nested list or a
    huge integer (the first recurses, the second is refused past 4300 digits)."""
    if isinstance(value, str):
        return repr(value[:20]) + ("..." if len(value) > 20 else "")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, int | float):
        return f"{value:g}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, Mapping) else type(value).__name__


def refuse_unknown(given: Mapping[str, object], also: tuple[str, ...] = ()) -> None:
    """A name that is neither an option nor one of ``also`` (a door's own parameters) is refused, not ignored:
    a misspelt option (``language=``) silently ignored would transcribe the recording the default way."""
    unknown = sorted(set(given) - set(OPTION_NAMES) - set(also))
    if unknown:
        raise InvalidOptionsError(f"{unknown[0][:40]}: not an option (the options are {', '.join(OPTION_NAMES)})")
