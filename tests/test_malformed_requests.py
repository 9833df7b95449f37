"""Every malformed request body or option answers 400, whatever its size or depth; nothing reaches 500.

At the parser, hypothesis makes up JSON values of every shape (huge integers, floats that are not finite,
control characters and lone surrogates, deep nesting, ``null``) under every option name: each is either
valid options, which survive the round trip through a job's status document, or ``invalid_options``. At
the HTTP door, the cases an operator found: a 400-digit integer, a 5,000-deep list, a NUL in a phrase,
``null`` for each option.
"""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidOptionsError
from shared.options import OPTION_NAMES, RecognitionOptions, parse_document, parse_text
from tests.app_functions import api

#: JSON-like values of every kind the parser can be handed, nested a little.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(),
    st.text(max_size=120),
    st.sampled_from(["en-US", "de-DE", "raw", "true", "500"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(st.sampled_from(OPTION_NAMES), VALUES, max_size=4)


def parsed_or_refused(parse, given) -> RecognitionOptions | None:
    """What ``parse(given)`` gives; ``None`` when it refused with ``invalid_options``. Anything else fails."""
    try:
        return parse(given)
    except InvalidOptionsError as error:
        assert error.message.split(":")[0] in (*OPTION_NAMES, "options"), error.message
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_json_options_are_valid_or_invalid_options_never_another_error(document):
    options = parsed_or_refused(lambda d: parse_document(d, RecognitionOptions()), document)
    if options is not None:  # a job keeps them as UTF-8 JSON and reads them back the same
        stored = json.dumps(options.to_dict(), ensure_ascii=False).encode("utf-8")
        assert parse_document(json.loads(stored), RecognitionOptions()) == options
        assert all("\x00" not in phrase for phrase in options.phrases)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(OPTION_NAMES), st.text(max_size=200), max_size=4), st.booleans())
def test_any_text_options_are_valid_or_invalid_options_never_another_error(values, encoded):
    parsed_or_refused(lambda v: parse_text(v, RecognitionOptions(), percent_encoded=encoded), values)


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_a_deeply_nested_value_for_any_option_is_invalid_options(name):
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidOptionsError, match=f"^{name}: "):
        parse_document({name: deep}, RecognitionOptions())


@pytest.mark.parametrize("phrase", ["Zor\x00vex", "line\nbreak", "bell\x07", "\x7f", "\ud800"])
def test_a_phrase_with_a_control_character_or_a_lone_surrogate_is_refused(phrase):
    with pytest.raises(InvalidOptionsError, match="phrases: "):
        parse_document({"phrases": [phrase]}, RecognitionOptions())


def test_null_means_the_options_own_default_for_every_option():
    """Alike for every option: ``null`` is the option left at its own default (what the service does unasked),
    never a refusal for some and the app's default for others."""
    base = RecognitionOptions(
        languages=("de-DE",),
        phrases=("Zorvex",),
        phrase_weight=1.5,
        words=True,
        profanity="raw",
        segmentation_silence_ms=800,
        diarization=False,
        custom_endpoint_ids=(("de-DE", "model-1"),),
    )
    own = RecognitionOptions()
    for name in OPTION_NAMES:
        parsed = parse_document({name: None}, base)
        expected = getattr(own, name) if name != "custom_endpoint_id" else None
        assert getattr(parsed, name) == expected, name
    assert parse_document({"custom_endpoint_id": None}, base).custom_endpoint_ids == ()
    assert {f.name for f in fields(RecognitionOptions)} - set(OPTION_NAMES) == {"custom_endpoint_ids"}


# -- the HTTP door ---------------------------------------------------------------------------------------
def post_upload(raw: bytes):
    return api("POST", "/api/uploads", raw, {"content-type": "application/json"})


def refused(response, code: str) -> str:
    assert response.status_code == 400, (response.status_code, response.get_body()[:300])
    error = json.loads(response.get_body())["error"]
    assert error["code"] == code, error
    return error["message"]


@pytest.mark.parametrize("option", ["segmentation_silence_ms", "phrase_weight"])
def test_a_400_digit_integer_option_is_a_400_not_a_500(stack, option):
    body = '{"options": {"' + option + '": 1' + "0" * 400 + "}}"
    assert refused(post_upload(body.encode()), "invalid_options").startswith(f"{option}:")


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_a_5000_deep_list_as_any_option_is_a_400_not_a_500(stack, name):
    deep = "[" * 5000 + "]" * 5000
    body = '{"options": {"' + name + '": ' + deep + "}}"
    assert len(body) < 11_000
    assert refused(post_upload(body.encode()), "invalid_options").startswith(f"{name}:")


def test_a_body_nested_deeper_than_the_json_parser_goes_is_a_400_not_a_500(stack):
    refused(post_upload(b"[" * 100_000 + b"]" * 100_000), "invalid_request")


def test_a_body_over_its_limit_or_an_option_name_no_utf_8_can_hold_is_a_json_400(stack):
    from shared.api.jobs import MAX_UPLOAD_REQUEST_BYTES

    padded = b'{"filename": "a.wav"' + b" " * MAX_UPLOAD_REQUEST_BYTES + b"}"
    assert "at most" in refused(post_upload(padded), "invalid_request")
    assert "not an option" in refused(post_upload(b'{"options": {"\\ud800": 1}}'), "invalid_options")


def test_a_nul_in_a_phrase_is_a_400(stack):
    body = json.dumps({"filename": "a.wav", "options": {"phrases": ["Zor\x00vex"]}}).encode()
    assert refused(post_upload(body), "invalid_options").startswith("phrases:")


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_null_for_any_option_is_accepted_alike_at_the_door(stack, name):
    response = post_upload(json.dumps({"filename": "a.wav", "options": {name: None}}).encode())
    assert response.status_code == 201, response.get_body()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    st.one_of(
        st.binary(max_size=300),
        VALUES.map(lambda v: json.dumps({"options": v}).encode()),
        DOCUMENTS.map(lambda d: json.dumps({"filename": 7, "options": d}).encode()),
    )
)
def test_any_upload_body_is_a_201_or_a_400_never_a_500(stack, raw):
    assert post_upload(raw).status_code in (201, 400)
