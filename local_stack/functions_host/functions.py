"""The functions the runtime indexed, as the host reads them from ``FunctionMetadataResponse``: raw bindings
parsed, ``%SETTING%`` references resolved, HTTP routes matched.

Setting references are resolved by plain substitution from the app settings (the host's binding-expression
engine is richer); a reference to a missing setting stops the host, as it stops the real one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

#: host.json ``extensions.http.routePrefix``'s default.
ROUTE_PREFIX = "api"
_SETTING = re.compile(r"%(\w+)%")
_ROUTE_PARAMETER = re.compile(r"\\\{(\w+)(?::[^}]*)?\\\}")


@dataclass(frozen=True)
class IndexedFunction:
    """One function of the app: its id, name, bindings (as the worker reported them) and properties."""

    function_id: str
    name: str
    bindings: tuple[dict, ...]
    properties: Mapping[str, str]

    @classmethod
    def from_metadata(cls, metadata: object) -> IndexedFunction:
        bindings = tuple(json.loads(raw) for raw in metadata.raw_bindings)
        return cls(metadata.function_id, metadata.name, bindings, dict(metadata.properties))

    @property
    def trigger(self) -> dict:
        return next(b for b in self.bindings if b["type"].endswith("Trigger"))

    @cached_property
    def route(self) -> re.Pattern | None:
        """The path an HTTP trigger answers (``/api/<route>``, route parameters as named groups)."""
        if self.trigger["type"] != "httpTrigger":
            return None
        template = self.trigger.get("route") or self.name
        return re.compile(f"/{ROUTE_PREFIX}/" + _ROUTE_PARAMETER.sub(r"(?P<\1>[^/]+)", re.escape(template)))

    def answers(self, method: str, path: str) -> dict[str, str] | None:
        """The route parameters when this HTTP function serves ``method path``, else ``None``."""
        if self.route is None or method.upper() not in [m.upper() for m in self.trigger.get("methods", [])]:
            return None
        match = self.route.fullmatch(path)
        return match.groupdict() if match else None


def resolve(value: str, settings: Mapping[str, str]) -> str:
    """``value`` with each ``%NAME%`` replaced by app setting ``NAME`` (``KeyError`` names a missing one)."""

    def setting(match: re.Match) -> str:
        if match.group(1) not in settings:
            raise KeyError(f"the binding expression {value!r} names app setting {match.group(1)}, which is not set")
        return settings[match.group(1)]

    return _SETTING.sub(setting, value)
