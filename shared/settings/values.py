"""How one setting's text becomes a value: each reader validates, and names the setting when it cannot. A value
not finite or out of range is refused too: ``nan`` would switch a timeout off without a word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from shared.errors import ConfigurationError

_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_QUEUE_NAME = _CONTAINER_NAME  # storage names queues by the same rule as containers
#: An NCRONTAB field: digits, ``*``, ranges, lists and steps.
_CRON_FIELD = re.compile(r"^[0-9*,/-]+$")


def required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"app setting {name} is missing")
    return value


def number(env: Mapping[str, str], name: str, default: float, *, most: float, least: float = 0.0) -> float:
    """A finite number in ``(0, most]`` (and at least ``least``), or ``default`` when absent or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not 0 < value <= most:
        raise ConfigurationError(f"{name} must be a number above 0 and at most {most:g}, got {raw!r}")
    if value < least:
        raise ConfigurationError(f"{name} must be at least {least:g}, got {raw!r}")
    return value


def whole_number(env: Mapping[str, str], name: str, default: int, *, most: int) -> int:
    """A whole number in ``[1, most]`` (written as a plain number: ``1e6`` is accepted, ``1.5`` is not)."""
    value = number(env, name, default, most=most)
    if value != int(value) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number from 1 to {most}, got {env.get(name)!r}")
    return int(value)


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def container(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _CONTAINER_NAME.match(value):
        raise ConfigurationError(f"{name} must be a blob container name (3-63 of a-z, 0-9, -), got {value!r}")
    return value


def queue(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip() or None
    if value is not None and not _QUEUE_NAME.match(value):
        raise ConfigurationError(f"{name} must be a queue name (3-63 of a-z, 0-9, -), got {value!r}")
    return value


def schedule(env: Mapping[str, str], name: str, default: str) -> str:
    """An NCRONTAB expression as the timer trigger takes it: six fields, second first."""
    value = " ".join(env.get(name, "").split()) or default
    fields = value.split(" ")
    if len(fields) != 6 or not all(_CRON_FIELD.match(field) for field in fields):
        raise ConfigurationError(
            f"{name} must be an NCRONTAB schedule of six fields (second minute hour day "
            f"month weekday), such as '0 */5 * * * *', got {value!r}"
        )
    return value
