"""The shapes an option's value takes, each read from text and from JSON and checked the same way for every
option of that shape. Text comes from a query, blob metadata, a setting or a flag; JSON from a job's
``options``. Nothing here names an option: ``declared.py`` gives each kind its bounds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shared.errors import InvalidOptionsError
from shared.options.locales import base_language, canonical_locale

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
#: Control characters (the service would take them as part of a phrase) and unpaired surrogates (no UTF-8
#: document, such as a job's status, can store them).
_UNPRINTABLE = ("Cc", "Cs")
Decode = Callable[[str], str]


class Kind:
    """Read a value from text or JSON into ``{field: value}`` changes; check a field's value."""

    #: The value's JSON Schema type in ``openapi.yaml``.
    json_type = "string"

    def read_text(self, name: str, text: str, decode: Decode) -> dict[str, object]:
        return {name: self.from_text(name, decode(text).strip())}

    def read_json(self, name: str, value: object) -> dict[str, object]:
        return {name: self.from_json(name, value)}

    def null(self, name: str, default: object) -> dict[str, object]:
        """What JSON ``null`` changes: the option back to its own default."""
        return {name: default}

    def from_text(self, name: str, text: str) -> object:
        raise NotImplementedError

    def from_json(self, name: str, value: object) -> object:
        raise NotImplementedError

    def check(self, name: str, value: object) -> object:
        """``value`` as kept (normalised), or ``InvalidOptionsError`` naming ``name`` and the rule."""
        return value

    def cli(self) -> dict[str, object]:
        """``argparse`` keyword arguments for the option's flag."""
        return {}


@dataclass(frozen=True)
class Flag(Kind):
    json_type = "boolean"

    def from_text(self, name: str, text: str) -> bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidOptionsError(f"{name}: true or false, not {text[:20]!r}")

    def from_json(self, name: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidOptionsError(f"{name}: must be true or false, not {shown(value)}")
        return value

    def cli(self) -> dict[str, object]:
        import argparse

        return {"action": argparse.BooleanOptionalAction}


@dataclass(frozen=True)
class Number(Kind):
    low: float
    high: float
    whole: bool = False

    @property
    def json_type(self) -> str:  # type: ignore[override]
        return "integer" if self.whole else "number"

    def from_text(self, name: str, text: str) -> float:
        return number(name, text)

    def from_json(self, name: str, value: object) -> float:
        if isinstance(value, str):
            raise InvalidOptionsError(f"{name}: a JSON number, not {shown(value)}")
        return number(name, value)

    def check(self, name: str, value: object) -> object:
        if value is None:
            return None
        if self.whole:
            if value != int(value) or not self.low <= value <= self.high:
                raise InvalidOptionsError(f"{name}: a whole number from {self.low:g} to {self.high:g}, not {value:g}")
            return int(value)
        if not self.low <= value <= self.high:
            raise InvalidOptionsError(f"{name}: from {self.low:g} to {self.high:g}, not {value!r}")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    values: tuple[str, ...]

    def from_text(self, name: str, text: str) -> str:
        return text.lower()

    def from_json(self, name: str, value: object) -> str:
        if not isinstance(value, str):
            raise InvalidOptionsError(f"{name}: one of {', '.join(self.values)}, not {shown(value)}")
        return value.strip().lower()

    def check(self, name: str, value: object) -> object:
        if value not in self.values:
            raise InvalidOptionsError(f"{name}: one of {', '.join(self.values)}, not {value!r}")
        return value

    def cli(self) -> dict[str, object]:
        return {"choices": self.values}


@dataclass(frozen=True)
class Texts(Kind):
    """A list of strings; in text, comma-separated (blob metadata percent-encodes a comma inside an item)."""

    most: int
    chars: int
    #: What each item must match in full, and the rule that says it; or no pattern and only printable text.
    pattern: re.Pattern | None = None
    rule: str = ""
    what: str = "characters"

    json_type = "array"

    def read_text(self, name: str, text: str, decode: Decode) -> dict[str, object]:
        items = (decode(part).strip() for part in text.split(","))
        return {name: tuple(item for item in items if item)}

    def from_json(self, name: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidOptionsError(f"{name}: must be a list of strings, not {shown(value)}")
        return tuple(item.strip() for item in value)

    def check(self, name: str, value: object) -> object:
        if len(value) > self.most:
            raise InvalidOptionsError(f"{name}: at most {self.most}, not {len(value)}")
        for item in value:
            self._check_item(name, item)
        return value

    def _check_item(self, name: str, item: str) -> None:
        if self.pattern is not None:
            if not self.pattern.fullmatch(item):
                raise InvalidOptionsError(f"{name}: each {self.rule}, not {item[:30]!r}")
            return
        if not 1 <= len(item) <= self.chars:
            raise InvalidOptionsError(f"{name}: each 1 to {self.chars} {self.what}, not {len(item)} ({item[:20]!r}...)")
        if any(unicodedata.category(char) in _UNPRINTABLE for char in item):
            raise InvalidOptionsError(f"{name}: no control characters or unpaired surrogates, as in {item[:20]!r}")


@dataclass(frozen=True)
class Locales(Texts):
    """1 to ``most`` locales in the service's spelling; when several, one per base language."""

    def check(self, name: str, value: object) -> tuple[str, ...]:
        if not 1 <= len(value) <= self.most:
            raise InvalidOptionsError(f"{name}: 1 to {self.most} locales, not {len(value)}")
        found = []
        for given in value:
            locale = canonical_locale(given)
            if locale is None:
                raise InvalidOptionsError(f"{name}: {given[:20]!r} is not a locale the Speech service transcribes")
            found.append(locale)
        bases = [base_language(locale) for locale in found]
        if len(found) > 1 and len(set(bases)) != len(bases):
            raise InvalidOptionsError(
                f"{name}: one locale per language when identifying among several (got {', '.join(found)})"
            )
        return tuple(found)


def number(name: str, value: object) -> float:
    """A finite number from text or a JSON number; a 400-digit integer is refused, not an ``OverflowError``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidOptionsError(f"{name}: a number, not {shown(value)}")
    try:
        result = float(value)
    except ValueError:
        raise InvalidOptionsError(f"{name}: a number, not {shown(value)}") from None
    except OverflowError:
        result = float("inf")
    if not math.isfinite(result):
        raise InvalidOptionsError(f"{name}: a finite number, not {shown(value)}")
    return result


def shown(value: object) -> str:
    """``value`` as an error may quote it: short, and never ``str()`` of a nested list or a huge integer (the
    first recurses, the second is refused past 4300 digits)."""
    import json

    if isinstance(value, str):
        return repr(value[:20]) + ("..." if len(value) > 20 else "")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, int | float):
        return f"{value:g}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, Mapping) else type(value).__name__
