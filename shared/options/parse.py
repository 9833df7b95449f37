"""The doors' one way in: options as text or as JSON, over a base (the app's defaults), validated together.

A bad option is ``InvalidOptionsError`` naming the option and its rule (HTTP 400; on the blob path the
permanent ``invalid_options``), before any token is fetched. ``null`` in JSON is the option's own default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import unquote

from shared.errors import ConfigurationError, InvalidOptionsError
from shared.options.declared import (
    OPTION_NAMES,
    OPTIONS,
    OPTIONS_BY_NAME,
    RecognitionOptions,
    check_together,
    keep_default_models,
    keep_engine_defaults,
)

_OWN_DEFAULTS = RecognitionOptions()


def parse_text(
    values: Mapping[str, str],
    base: RecognitionOptions,
    *,
    percent_encoded: bool = False,
    channel_mode: str | None = None,
) -> RecognitionOptions:
    """Options given as text (a query, blob metadata, flags, settings), over ``base``; keys are option names.

    Blob metadata is ASCII only, so it percent-encodes the rest: ``percent_encoded=True`` decodes each item
    after the split. Text already plain (a query the host decoded, flags, settings) is not decoded again.
    """
    decode = unquote if percent_encoded else str
    given = {key.lower(): str(value) for key, value in values.items()}
    refuse_unknown(given)
    changes: dict[str, object] = {}
    for name, text in given.items():
        changes.update(OPTIONS_BY_NAME[name].kind.read_text(name, text, decode))
    return _over(base, changes, channel_mode)


def parse_document(
    document: object, base: RecognitionOptions, *, channel_mode: str | None = None
) -> RecognitionOptions:
    """Options given as JSON (option names and values of their JSON types), over ``base``.

    Each value is checked for its JSON type first, before anything could ``str()`` a nested list or
    ``float()`` a 400-digit integer.
    """
    if not isinstance(document, Mapping):
        raise InvalidOptionsError("options: must be a JSON object of option names and values")
    refuse_unknown(document)
    changes: dict[str, object] = {}
    for name, value in document.items():
        kind = OPTIONS_BY_NAME[name].kind
        if value is None:  # the option's own default, alike for every option
            changes.update(kind.null(name, getattr(_OWN_DEFAULTS, name)))
        else:
            changes.update(kind.read_json(name, value))
    return _over(base, changes, channel_mode)


def from_settings(env: Mapping[str, str], channel_mode: str) -> RecognitionOptions:
    """The app's default options, each from its setting (plain text); a bad one is a ``ConfigurationError``
    naming the setting; settings that contradict each other are refused together."""
    given = {option.name: env.get(option.setting, "").strip() for option in OPTIONS}
    try:
        options = parse_text({name: text for name, text in given.items() if text}, RecognitionOptions())
        options.check_channels(channel_mode)
    except InvalidOptionsError as error:
        named = OPTIONS_BY_NAME.get(error.message.split(":", 1)[0])
        raise ConfigurationError(f"{named.setting if named else 'SPEECH_*'}: {error.message}") from None
    return options.as_app_default()


def validated(options: RecognitionOptions) -> RecognitionOptions:
    """``options`` normalised (locales in the service's spelling), or ``InvalidOptionsError`` naming a rule."""
    checked = {option.name: option.kind.check(option.name, getattr(options, option.name)) for option in OPTIONS}
    return check_together(replace(options, **checked))


def refuse_unknown(given: Mapping[str, object], also: tuple[str, ...] = ()) -> None:
    """A name that is neither an option nor one of ``also`` (a door's own parameters) is refused, not ignored:
    a misspelt option (``language=``) silently ignored would transcribe the recording the default way."""
    unknown = sorted(set(given) - set(OPTION_NAMES) - set(also))
    if unknown:
        raise InvalidOptionsError(f"{unknown[0][:40]}: not an option (the options are {', '.join(OPTION_NAMES)})")


def _over(base: RecognitionOptions, changes: dict[str, object], channel_mode: str | None) -> RecognitionOptions:
    """``base`` with a door's ``changes``, validated; with the app's ``channel_mode`` (every door gives it),
    the options that depend on it are checked in the same step."""
    options = validated(replace(base, **keep_default_models(base, keep_engine_defaults(changes))))
    if channel_mode is not None:
        options.check_channels(channel_mode)
    return options
