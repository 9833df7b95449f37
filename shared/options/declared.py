"""Every recognition option, declared once: its field, its kind and bounds, its app setting, its CLI flag and
help. The doors (``parse.py``), the settings, the CLI, the README's table and ``openapi.yaml`` (both checked by
tests) come from ``OPTIONS``; ``shared/speech/config.py`` and ``shared/fast/request.py`` apply them. Adding an
option is one entry here, its field, and how each engine applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from shared.errors import InvalidOptionsError
from shared.options.kinds import Choice, Flag, Kind, Locales, Number, Texts, shown
from shared.options.locales import canonical_locale

#: ``CHANNEL_MODE=separate`` transcribes at most this many channels one by one (more are mixed), so no more
#: can be named. Kept here, not in ``shared.audio`` (which loads PyAV): the settings import this module.
MAX_SEPARATE_CHANNELS = 4
#: The engines a recording may ask for (``docs/engines.md``); ``auto`` is decided once the audio is open, and
#: never picks batch (it may take hours).
REALTIME, FAST, BATCH, AUTO = "realtime", "fast", "batch", "auto"
ENGINES = (REALTIME, FAST, BATCH, AUTO)
#: Options only the real-time session honours: the fast API has no equivalent.
REALTIME_ONLY = ("custom_endpoint_id", "segmentation_silence_ms", "phrase_weight")
#: What each REST engine cannot honour: batch has no phrase list either.
NOT_HONOURED = {FAST: REALTIME_ONLY, BATCH: ("phrases", *REALTIME_ONLY)}
_ENDPOINT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class RecognitionOptions:
    """How one recording is recognised. Build with ``parse_text``/``parse_document``, which validate."""

    languages: tuple[str, ...] = ("en-US",)
    phrases: tuple[str, ...] = ()
    phrase_weight: float | None = None
    #: One custom model for the recording's single language.
    custom_endpoint_id: str | None = None
    #: ``(locale, endpoint id)`` pairs: each candidate's custom model when identifying the language.
    custom_endpoint_ids: tuple[tuple[str, str], ...] = ()
    words: bool = False
    profanity: str = "masked"
    segmentation_silence_ms: int | None = None
    channel_names: tuple[str, ...] = ()
    diarization: bool = True
    engine: str = "realtime"
    max_speakers: int | None = None

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

    def as_app_default(self) -> RecognitionOptions:
        """A bare custom model kept as the first language's: a request for other languages then drops it
        instead of sending German audio to an English model."""
        return replace(self, custom_endpoint_id=None, custom_endpoint_ids=self.endpoints_by_locale())

    def endpoints_by_locale(self) -> tuple[tuple[str, str], ...]:
        """Every custom model with the locale it is for: a bare id is the model of the one language."""
        if self.custom_endpoint_id:
            return ((self.languages[0], self.custom_endpoint_id),)
        return self.custom_endpoint_ids


class EndpointIds(Kind):
    """``id`` or ``locale=id,...`` (text), or ``{"de-DE": "id"}`` (JSON, as ``to_dict`` writes it): two fields."""

    def read_text(self, name: str, text: str, decode) -> dict[str, object]:
        return self.read_json(name, decode(text))

    def read_json(self, name: str, value: object) -> dict[str, object]:
        if isinstance(value, Mapping):
            if not all(isinstance(item, str) for pair in value.items() for item in pair):
                raise InvalidOptionsError(f"{name}: an object's locales and ids must be strings")
            return {name: None, f"{name}s": tuple(value.items())}
        if value is not None and not isinstance(value, str):
            raise InvalidOptionsError(f"{name}: an id, locale=id pairs or an object, not {shown(value)}")
        text = (value or "").strip()
        if "=" not in text:
            return {name: text or None, f"{name}s": ()}
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise InvalidOptionsError(f"{name}: an id, or locale=id pairs separated by commas")
        return {name: None, f"{name}s": tuple((k.strip(), v.strip()) for k, v in pairs)}

    def null(self, name: str, default: object) -> dict[str, object]:
        return {name: None, f"{name}s": ()}

    def check(self, name: str, value: object) -> object:
        if value is not None and not _ENDPOINT_ID.fullmatch(value):
            raise InvalidOptionsError(f"{name}: an endpoint id of letters, digits and -, not {shown(value)}")
        return value


@dataclass(frozen=True)
class Option:
    """One option: ``name`` is its field, its query and document key and its metadata key (``x-ms-meta-<name>``)."""

    name: str
    kind: Kind
    setting: str
    help: str
    #: The CLI flag's other spellings.
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option(
        "languages",
        Locales(most=10, chars=0),
        "SPEECH_LANGUAGE",
        "1-10 locales; several: each segment's language is identified",
        aliases=("--language",),
    ),
    Option(
        "phrases",
        Texts(most=500, chars=100),
        "SPEECH_PHRASES",
        "a phrase list (≤ 500, ≤ 100 characters each, no control characters)",
    ),
    Option("phrase_weight", Number(0, 2), "SPEECH_PHRASE_WEIGHT", "0-2: how strongly the phrase list counts"),
    Option(
        "custom_endpoint_id",
        EndpointIds(),
        "SPEECH_CUSTOM_ENDPOINT_ID",
        "a custom model; with several languages de-DE=<id>,en-US=<id>",
    ),
    Option("words", Flag(), "SPEECH_WORDS", "each segment's confidence, and its words with times and confidence"),
    Option("profanity", Choice(("masked", "removed", "raw")), "SPEECH_PROFANITY", "masked, removed or raw"),
    Option(
        "segmentation_silence_ms",
        Number(100, 5000, whole=True),
        "SPEECH_SEGMENTATION_SILENCE_MS",
        "100-5000: the pause that ends a phrase",
    ),
    Option(
        "channel_names",
        Texts(
            most=MAX_SEPARATE_CHANNELS,
            chars=24,
            pattern=re.compile(r"[\w .'-]{1,24}"),
            rule="1 to 24 letters, digits, spaces or . ' -",
        ),
        "CHANNEL_NAMES",
        "with CHANNEL_MODE=separate: Agent,Customer instead of Channel-1, Channel-2",
    ),
    Option("diarization", Flag(), "SPEECH_DIARIZATION", "false: one speaker label for the whole recording"),
    Option(
        "engine",
        Choice(ENGINES),
        "SPEECH_ENGINE",
        "realtime, fast, batch (asynchronous, cheapest) or auto: fast when within its limits (docs/engines.md)",
    ),
    Option(
        "max_speakers",
        Number(2, 35, whole=True),
        "SPEECH_MAX_SPEAKERS",
        "2-35: the most speakers diarization may find (engine fast, batch or auto)",
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
#: The option names every door accepts.
OPTION_NAMES = tuple(OPTIONS_BY_NAME)
#: Each option's default: the app setting it comes from.
OPTION_SETTINGS = {option.name: option.setting for option in OPTIONS}


def check_together(options: RecognitionOptions) -> RecognitionOptions:
    """The rules between options: each custom model's locale one of the languages, once; a bare id only with
    one language. Returns ``options`` with the models' locales in the service's spelling."""
    ids: dict[str, str] = {}
    for locale, endpoint in options.custom_endpoint_ids:
        canonical = canonical_locale(locale)
        if canonical not in options.languages:
            raise InvalidOptionsError(f"custom_endpoint_id: {locale[:20]!r} is not one of the languages")
        if canonical in ids:
            raise InvalidOptionsError(f"custom_endpoint_id: one id per locale, {canonical} is given twice")
        ids[canonical] = OPTIONS_BY_NAME["custom_endpoint_id"].kind.check("custom_endpoint_id", endpoint)
    if options.custom_endpoint_id and options.identifies_language:
        raise InvalidOptionsError(
            "custom_endpoint_id: with several languages give one per locale, e.g. de-DE=<id>,en-US=<id>"
        )
    check_engine(options)
    return replace(options, custom_endpoint_ids=tuple(ids.items()))


def realtime_only(options: RecognitionOptions) -> str | None:
    """The first option given that only the real-time session honours, or ``None``."""
    return not_honoured(options, FAST)


def not_honoured(options: RecognitionOptions, engine: str) -> str | None:
    """The first option given that ``engine`` (fast or batch) cannot honour, or ``None``."""
    given = {
        "phrases": bool(options.phrases),
        "custom_endpoint_id": options.custom_endpoint_id or options.custom_endpoint_ids,
        "segmentation_silence_ms": options.segmentation_silence_ms is not None,
        "phrase_weight": options.phrase_weight is not None,
    }
    return next((name for name in NOT_HONOURED[engine] if given[name]), None)


def check_engine(options: RecognitionOptions) -> None:
    """The engine and what it can honour: ``max_speakers`` needs a REST engine's diarization, fast and batch lack
    some real-time options, and ``auto`` cannot be asked for both at once."""
    only = realtime_only(options)
    if options.max_speakers is not None:
        if options.engine == REALTIME:
            raise InvalidOptionsError(
                "max_speakers: only with engine=fast, batch or auto (real-time takes no speaker count)"
            )
        if not options.diarization:
            raise InvalidOptionsError("max_speakers: only with diarization on")
        if only is not None and options.engine == AUTO:
            raise InvalidOptionsError(f"max_speakers: needs the fast engine, and {only} needs real-time")
    missing = not_honoured(options, options.engine) if options.engine in NOT_HONOURED else None
    if missing in REALTIME_ONLY:
        raise InvalidOptionsError(
            f"{missing}: real-time only, not with engine={options.engine} (use engine=realtime or auto)"
        )
    if missing is not None:
        raise InvalidOptionsError(f"{missing}: batch transcription has none (use engine=realtime, fast or auto)")


def keep_default_models(base: RecognitionOptions, changes: dict[str, object]) -> dict[str, object]:
    """A door that lists other languages and names no model keeps only the default models of languages it
    still lists: never refused (it never sent them) nor applied to another language."""
    if "languages" not in changes or "custom_endpoint_id" in changes:
        return changes
    listed = {canonical_locale(value) for value in changes["languages"]}
    kept = tuple(pair for pair in base.endpoints_by_locale() if canonical_locale(pair[0]) in listed)
    return {**changes, "custom_endpoint_id": None, "custom_endpoint_ids": kept}


def keep_engine_defaults(changes: dict[str, object]) -> dict[str, object]:
    """A door that asks for an engine and names no option only the other engine honours drops the app's
    default for it: never refused for what it never sent (a default ``max_speakers`` with ``realtime``)."""
    engine = changes.get("engine")
    dropped = ("max_speakers",) if engine == REALTIME else NOT_HONOURED.get(engine, ())
    cleared = {name: getattr(RecognitionOptions(), name) for name in dropped if name not in changes}
    if "custom_endpoint_id" in cleared:
        cleared["custom_endpoint_ids"] = ()
    return {**changes, **cleared}


def as_written(body: Mapping[str, object]) -> RecognitionOptions:
    """The options ``to_dict`` wrote, not validated again: the rules may tighten after a transcript was made
    (a locale retired), and it must still load. Names it does not know (options added later) are ignored."""
    values = {
        key: tuple(value) if isinstance(value, list) else value for key, value in body.items() if key in OPTIONS_BY_NAME
    }
    if "custom_endpoint_id" in values:  # an id, or {locale: id}: read as every door reads it
        values.update(EndpointIds().read_json("custom_endpoint_id", values["custom_endpoint_id"]))
    return RecognitionOptions(**values)
