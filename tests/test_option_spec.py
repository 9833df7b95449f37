"""Each recognition option is declared once (``shared/options/declared.py``); what the user reads about it must
say the same: the README's options table, ``openapi.yaml`` (the query parameters and the JSON ``options``
schema) and the command's flags are checked against the declarations here.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from shared.options import OPTIONS, RecognitionOptions
from shared.options.kinds import Choice, Flag, Locales, Number, Texts
from shared.transcribe import build_parser

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = RecognitionOptions()


def readme_row(option) -> str:
    """The README table's row for ``option``: its name, its setting and default, its help."""
    default = getattr(DEFAULTS, option.name)
    if isinstance(default, tuple):
        default = ",".join(default)
    elif isinstance(default, bool):
        default = str(default).lower()
    shown = f" (`{default}`)" if default not in (None, "") else ""
    return f"| `{option.name}` | `{option.setting}`{shown} | {option.help} |"


def test_the_readmes_options_table_is_the_declarations():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if re.match(r"\| `[a-z_]+` \| `[A-Z_]+`", line)]
    assert rows == [readme_row(option) for option in OPTIONS]


def _query_schema(kind) -> dict:
    if isinstance(kind, Flag):
        return {"type": "boolean"}
    if isinstance(kind, Number):
        return {"type": kind.json_type}
    if isinstance(kind, Choice):
        return {"type": "string", "enum": list(kind.values)}
    return {"type": "string"}


def _json_bounds(kind) -> dict:
    if isinstance(kind, Number):
        return {"minimum": kind.low, "maximum": kind.high}
    if isinstance(kind, Locales):
        return {"minItems": 1, "maxItems": kind.most}
    if isinstance(kind, Texts):
        return {"maxItems": kind.most}
    if isinstance(kind, Choice):
        return {"enum": [*kind.values, None]}
    return {}


def test_openapi_describes_every_option_as_declared():
    contract = yaml.safe_load((REPO / "openapi.yaml").read_text())
    parameters = contract["components"]["parameters"]
    post = contract["paths"]["/transcriptions"]["post"]["parameters"]
    asked = {p["$ref"].rsplit("/", 1)[1] for p in post if "$ref" in p}
    assert asked - {"format"} == {option.name for option in OPTIONS}
    schema = contract["components"]["schemas"]["RecognitionOptions"]["properties"]
    assert set(schema) == {option.name for option in OPTIONS}
    for option in OPTIONS:
        parameter = parameters[option.name]
        assert (parameter["name"], parameter["in"]) == (option.name, "query")
        assert {k: v for k, v in parameter["schema"].items() if k in ("type", "enum")} == _query_schema(option.kind)
        described = schema[option.name]
        if "type" in described:  # the custom model's object form is a oneOf
            assert described["type"] == [option.kind.json_type, "null"], option.name
        for bound, value in _json_bounds(option.kind).items():
            assert described.get(bound) == value, (option.name, bound)


def test_the_command_has_a_flag_for_every_option_and_names_its_setting():
    parser = build_parser()
    flags = {action.dest: action for action in parser._actions}
    for option in OPTIONS:
        assert option.flag in flags[option.name].option_strings
        assert option.setting in flags[option.name].help
