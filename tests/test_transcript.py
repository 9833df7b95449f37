"""The transcript's JSON (revision 2 over ``stt-transcript/1``), its plain text, and the detected languages.

Revision 2 only adds fields, so the checks here are: a document with every new field survives
``to_dict -> JSON -> from_dict -> to_dict`` unchanged, a revision-1 document written before still
loads and keeps its fields as they were, and both validate against ``openapi.yaml``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator

from shared.options import RecognitionOptions
from shared.output.transcript import (
    SCHEMA_REVISION,
    AudioInfo,
    Segment,
    Transcript,
    Word,
    language_shares,
    main_language,
)

OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"

#: A revision-1 document as the README shows it, written before words, options or languages existed.
REVISION_1 = {
    "schema": "stt-transcript/1",
    "source": {"container": "audio-in", "name": "call.wav", "etag": '"0x8DC"', "size": 523498},
    "language": "en-US",
    "audio": {
        "format": "wav/pcm_s16le",
        "sample_rate": 16000,
        "channels": 1,
        "bits_per_sample": 16,
        "duration_seconds": 16.358,
        "container": "wav",
        "codec": "pcm_s16le",
        "declared_duration_seconds": 16.358,
        "decoded_duration_seconds": 16.358,
        "channel_mode": "mix",
    },
    "duration_seconds": 16.358,
    "speakers": ["Guest-1", "Guest-2"],
    "segments": [
        {"speaker": "Guest-1", "start": 0.05, "end": 2.95, "text": "Good morning, thank you for calling."},
        {"speaker": "Guest-2", "start": 3.75, "end": 6.4, "text": "Hello, my laptop will not connect."},
    ],
    "text": "Good morning, thank you for calling. Hello, my laptop will not connect.",
    "timings": {"token_seconds": 0.012, "total_seconds": 1.9},
    "warnings": [],
    "created_at": "2026-11-24T23:41:00+00:00",
}


def transcript(segments: list[Segment], options: RecognitionOptions | None = None) -> Transcript:
    return Transcript(
        source={"container": "audio-in", "name": "t.wav"},
        language="en-US",
        audio=AudioInfo("wav/pcm_s16le", 16000, 1, 16, 30.0),
        segments=segments,
        created_at="2026-11-25T10:00:00+00:00",
        options=options,
    )


def bilingual() -> Transcript:
    words = (Word("guten", 0.5, 0.9, 0.93), Word("morgen", 0.95, 1.4, None))
    return transcript(
        [
            Segment("Guest-1", 0.5, 1.5, "Guten Morgen.", language="de-DE", confidence=0.91, words=words),
            Segment(
                "Guest-1",
                2.0,
                4.0,
                "Good morning.",
                language="en-US",
                confidence=0.88,
                words=(Word("good", 2.0, 2.5, 0.97), Word("morning", 2.6, 3.9, 0.95)),
            ),
            Segment("Guest-2", 4.0, 10.0, "Hallo, ja.", language="de-DE", words=()),
        ],
        RecognitionOptions(
            languages=("de-DE", "en-US"),
            phrases=("Contoso",),
            phrase_weight=1.5,
            custom_endpoint_ids=(("de-DE", "abc-1"), ("en-US", "def-2")),
            words=True,
            profanity="raw",
            segmentation_silence_ms=800,
            diarization=True,
        ),
    )


@cache
def transcript_schema() -> OAS31Validator:
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return OAS31Validator({"$ref": "#/components/schemas/Transcript", "components": document["components"]})


def reloaded(t: Transcript) -> Transcript:
    return Transcript.from_dict(json.loads(t.to_json()))


# -- the JSON ------------------------------------------------------------------------------------------
def test_every_new_field_is_written_and_survives_a_round_trip():
    t = bilingual()
    body = json.loads(t.to_json())
    assert body["schema"] == "stt-transcript/1"
    assert body["schema_revision"] == SCHEMA_REVISION == 3
    first = body["segments"][0]
    assert first["language"] == "de-DE"
    assert first["confidence"] == 0.91
    assert first["words"] == [
        {"text": "guten", "start": 0.5, "end": 0.9, "confidence": 0.93},
        {"text": "morgen", "start": 0.95, "end": 1.4, "confidence": None},
    ]
    assert body["segments"][2]["words"] == []
    assert "confidence" not in body["segments"][2]
    assert body["options"]["custom_endpoint_id"] == {"de-DE": "abc-1", "en-US": "def-2"}
    assert body["options"]["languages"] == ["de-DE", "en-US"]
    assert body["options"]["profanity"] == "raw"
    assert body["languages"] == [
        {"language": "de-DE", "seconds": 7.0, "share": 0.7778},
        {"language": "en-US", "seconds": 2.0, "share": 0.2222},
    ]
    again = reloaded(t)
    assert again.segments == t.segments
    assert again.options == t.options
    assert again.to_dict() == t.to_dict()


def test_a_revision_1_document_still_loads_and_keeps_its_fields():
    t = Transcript.from_dict(json.loads(json.dumps(REVISION_1)))
    assert t.options is None
    assert t.languages == []
    assert all(s.words is None and s.language is None and s.confidence is None for s in t.segments)
    body = t.to_dict()
    assert {key: body[key] for key in REVISION_1} == REVISION_1  # old fields: same names, same values
    assert set(body) - set(REVISION_1) == {"schema_revision", "options", "languages", "engine", "engine_reason"}
    assert (body["engine"], body["engine_reason"]) == ("realtime", None)  # every transcript before 3 was
    assert body["options"] is None
    assert body["languages"] == []
    assert all(set(s) == {"speaker", "start", "end", "text"} for s in body["segments"])


def test_recorded_options_load_even_if_the_rules_have_changed_since():
    body = bilingual().to_dict()
    body["options"] = {
        **body["options"],
        "languages": ["xx-XX"],
        "custom_endpoint_id": "old-model",
        "an_option_from_the_future": 3,
    }
    options = Transcript.from_dict(body).options
    assert options is not None
    assert options.languages == ("xx-XX",)
    assert options.custom_endpoint_id == "old-model"
    assert options.custom_endpoint_ids == ()
    assert options.phrases == ("Contoso",)


def test_the_engine_and_why_auto_chose_it_survive_a_round_trip_and_validate():
    t = bilingual()
    t.engine, t.engine_reason = "fast", "within fast's limits, and nothing only real-time has is asked for"
    body = json.loads(t.to_json())
    assert (body["engine"], body["engine_reason"]) == ("fast", t.engine_reason)
    assert (reloaded(t).engine, reloaded(t).engine_reason) == ("fast", t.engine_reason)
    transcript_schema().validate(body)


def test_both_revisions_validate_against_the_contract():
    validator = transcript_schema()
    validator.validate(bilingual().to_dict())
    validator.validate(REVISION_1)
    validator.validate(transcript([]).to_dict())
    broken = bilingual().to_dict()
    del broken["segments"][0]["words"][0]["end"]
    with pytest.raises(ValidationError):
        validator.validate(broken)
    broken = bilingual().to_dict()
    broken["languages"][0]["share"] = 1.5
    with pytest.raises(ValidationError):
        validator.validate(broken)


_language = st.one_of(st.none(), st.sampled_from(["de-DE", "en-US", "fr-FR", "ja-JP"]))
_confidence = st.one_of(st.none(), st.floats(0, 1))
_time = st.floats(0, 7200, allow_nan=False)
_word = st.builds(Word, st.text(max_size=12), _time, _time, _confidence)
_segment = st.builds(
    Segment,
    st.text(max_size=10),
    _time,
    _time,
    st.text(max_size=40),
    _language,
    _confidence,
    st.one_of(st.none(), st.lists(_word, max_size=5).map(tuple)),
)
_options = st.one_of(
    st.none(),
    st.builds(
        RecognitionOptions,
        languages=st.lists(st.sampled_from(["de-DE", "en-US"]), min_size=1, max_size=2).map(tuple),
        phrases=st.lists(st.text(min_size=1, max_size=10), max_size=3).map(tuple),
        phrase_weight=st.one_of(st.none(), st.floats(0, 2)),
        custom_endpoint_id=st.one_of(st.none(), st.just("abc-1")),
        custom_endpoint_ids=st.lists(
            st.tuples(st.sampled_from(["de-DE", "en-US"]), st.just("x-1")), max_size=2, unique_by=lambda pair: pair[0]
        ).map(tuple),
        words=st.booleans(),
        profanity=st.sampled_from(["masked", "removed", "raw"]),
        segmentation_silence_ms=st.one_of(st.none(), st.integers(100, 5000)),
        channel_names=st.lists(st.sampled_from(["Agent", "Customer"]), max_size=2).map(tuple),
        diarization=st.booleans(),
    ).filter(lambda o: not (o.custom_endpoint_id and o.custom_endpoint_ids)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_segment, max_size=6), _options)
def test_any_transcript_round_trips_through_json(segments, options):
    t = transcript(segments, options)
    assert reloaded(t).to_dict() == t.to_dict()
    transcript_schema().validate(json.loads(t.to_json()))


# -- languages -----------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_language, _time, _time), max_size=12))
def test_language_shares_add_up_to_one_over_the_identified_segments(parts):
    segments = [Segment("Guest-1", start, end, "x", language=language) for language, start, end in parts]
    shares = language_shares(segments)
    identified = [s for s in segments if s.language is not None]
    assert {found.language for found in shares} == {s.language for s in identified}
    if not identified:
        return
    assert math.isclose(math.fsum(found.share for found in shares), 1.0)
    assert [found.share for found in shares] == sorted((found.share for found in shares), reverse=True)
    for found in shares:
        spoken = math.fsum(max(s.end - s.start, 0) for s in identified if s.language == found.language)
        assert math.isclose(found.seconds, spoken)
        assert 0 <= found.share <= 1


def test_language_shares_count_segments_when_none_has_a_length():
    segments = [
        Segment("A", 1.0, 1.0, "a", language="de-DE"),
        Segment("A", 2.0, 2.0, "b", language="de-DE"),
        Segment("B", 3.0, 3.0, "c", language="en-US"),
        Segment("B", 3.0, 9.0, "d"),
    ]
    assert [(f.language, f.seconds, round(f.share, 4)) for f in language_shares(segments)] == [
        ("de-DE", 0.0, 0.6667),
        ("en-US", 0.0, 0.3333),
    ]


def test_the_main_language_is_the_largest_share_not_the_first_candidate():
    german = [
        Segment("A", 0.0, 1.0, "Ja.", language="de-DE"),
        Segment("B", 1.0, 4.0, "Hello.", language="en-US"),
        Segment("A", 4.0, 9.0, "Guten Morgen.", language="de-DE"),
    ]
    assert main_language(german, "en-US") == "de-DE"
    assert main_language([Segment("A", 0.0, 1.0, "hello")], "en-US") == "en-US"  # nothing identified
    assert main_language([], "fr-FR") == "fr-FR"


def test_no_identification_gives_no_languages():
    assert transcript([Segment("A", 0.0, 5.0, "hello")]).to_dict()["languages"] == []


# -- plain text ----------------------------------------------------------------------------------------
def test_text_without_languages_is_one_paragraph_per_speaker_turn():
    t = Transcript.from_dict(REVISION_1)
    t.segments.append(Segment("Guest-2", 7.0, 8.0, "Again."))
    assert t.to_text() == (
        "[00:00:00] Guest-1: Good morning, thank you for calling.\n"
        "[00:00:03] Guest-2: Hello, my laptop will not connect. Again.\n"
    )


def test_a_language_change_within_a_turn_starts_a_paragraph_that_names_it():
    t = transcript(
        [
            Segment("Guest-1", 0.0, 2.0, "Guten Morgen.", language="de-DE"),
            Segment("Guest-1", 2.0, 4.0, "Wie geht's?", language="de-DE"),
            Segment("Guest-1", 65.0, 66.0, "Good morning.", language="en-US"),
            Segment("Guest-2", 70.0, 71.0, "Fine.", language="en-US"),
        ]
    )
    assert t.to_text() == (
        "[00:00:00] Guest-1 (de-DE): Guten Morgen. Wie geht's?\n"
        "[00:01:05] Guest-1 (en-US): Good morning.\n"
        "[00:01:10] Guest-2 (en-US): Fine.\n"
    )
