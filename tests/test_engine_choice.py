"""Which engine runs, and what the fast engine sends and reads, without any process: the rules of ``auto``
(``shared.engines``), the ``definition`` built from the options, the multipart body's length and bytes, the
answer read into segments, and each refusal typed by its status. The same against the real emulator is in
``tests/test_fast_engine.py`` and ``tests/test_fast_faults.py``.
"""

from __future__ import annotations

import io
import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from shared.audio import AudioFound
from shared.engines import FAST_MAX_BYTES, choose_engine
from shared.errors import AudioTooLargeError, InvalidOptionsError, UnsupportedAudioError
from shared.fast.body import MultipartBody
from shared.fast.request import definition, transcribe_url
from shared.fast.result import fast_result
from shared.options import RecognitionOptions, parse_text
from shared.platform.speech_rest import refusal

WAV = AudioFound("wav", "pcm_s16le", 16000, 1, 16, 60.0)
AUTO = parse_text({"engine": "auto"}, RecognitionOptions())
FAST = parse_text({"engine": "fast"}, RecognitionOptions())


def found(**changes) -> AudioFound:
    fields = {**WAV.__dict__, **changes}
    return AudioFound(**fields)


# -- auto, and engine=fast ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("audio", "size", "mode", "why"),
    [
        (found(container="m4a", codec="aac"), 1000, "mix", "does not document m4a"),
        (WAV, FAST_MAX_BYTES, "mix", "fast takes less than 300 MB"),
        (found(declared_seconds=120 * 60.0), 1000, "mix", "declares 120.0 min"),
        (found(container="amr", codec="amr_nb", declared_seconds=None), 1000, "mix", "declares no length"),
        (found(channels=4), 1000, "separate", "has 4 channels"),
        (WAV, None, "mix", "size is not known"),
    ],
    ids=["m4a", "300MB", "120min", "no-length", "4-channels", "no-size"],
)
def test_auto_sends_what_fast_cannot_take_to_real_time_and_says_why(audio, size, mode, why):
    choice = choose_engine(AUTO, audio, size, mode)
    assert choice.engine == "realtime"
    assert why in choice.reason


def test_auto_picks_fast_within_its_limits_and_real_time_for_a_real_time_only_option():
    assert choose_engine(AUTO, WAV, FAST_MAX_BYTES - 1, "mix").engine == "fast"
    assert choose_engine(AUTO, found(channels=2), 1000, "separate").engine == "fast"
    for option, value in (("phrase_weight", "1"), ("segmentation_silence_ms", "800"), ("custom_endpoint_id", "m")):
        choice = choose_engine(parse_text({option: value}, AUTO), WAV, 1000, "mix")
        assert (choice.engine, choice.reason) == ("realtime", f"auto: real-time, since {option} is real-time only")
    assert choose_engine(RecognitionOptions(), found(container="m4a"), None, "mix").reason is None


@pytest.mark.parametrize(
    ("audio", "size", "mode", "error"),
    [
        (found(container="mp4", codec="aac"), 1000, "mix", UnsupportedAudioError),
        (WAV, FAST_MAX_BYTES, "mix", AudioTooLargeError),
        (found(declared_seconds=7300.0), 1000, "mix", AudioTooLargeError),
        (found(channels=3), 1000, "separate", InvalidOptionsError),
    ],
    ids=["mp4", "300MB", "121min", "3-channels"],
)
def test_engine_fast_refuses_what_fast_cannot_take_by_its_rule(audio, size, mode, error):
    with pytest.raises(error) as refused:
        choose_engine(FAST, audio, size, mode)
    assert refused.value.message.startswith("engine=fast: ")
    assert refused.value.message.endswith("use engine=realtime or auto")


def test_engine_fast_sends_audio_of_no_declared_length_and_max_speakers_with_auto_needs_fast():
    assert choose_engine(FAST, found(container="amr", declared_seconds=None), 1000, "mix").engine == "fast"
    two = parse_text({"max_speakers": "2"}, AUTO)
    with pytest.raises(InvalidOptionsError, match="max_speakers: real-time has no speaker count"):
        choose_engine(two, found(container="m4a"), 1000, "mix")
    with pytest.raises(InvalidOptionsError, match="separate channels are not diarized"):
        choose_engine(parse_text({"max_speakers": "2"}, FAST), found(channels=2), 1000, "separate")


# -- the request --------------------------------------------------------------------------------------------
def test_each_option_goes_into_the_definition_in_the_apis_words():
    options = parse_text(
        {"languages": "en-US,de-DE", "phrases": "Zorvex,Quillana", "profanity": "raw", "max_speakers": "3"}, FAST
    )
    assert json.loads(definition(options, "mix")) == {
        "locales": ["en-US", "de-DE"],
        "profanityFilterMode": "None",
        "phraseList": {"phrases": ["Zorvex", "Quillana"]},
        "diarization": {"enabled": True, "maxSpeakers": 3},
    }
    assert json.loads(definition(FAST, "separate")) == {
        "locales": ["en-US"],
        "profanityFilterMode": "Masked",
        "channels": [0, 1],
    }
    unset = json.loads(definition(parse_text({"diarization": "false", "profanity": "removed"}, FAST), "mix"))
    assert (unset["profanityFilterMode"], "diarization" in unset) == ("Removed", False)
    assert json.loads(definition(FAST, "mix"))["diarization"] == {"enabled": True, "maxSpeakers": 35}


def test_the_rest_url_is_the_speech_endpoints_host():
    version = "speechtotext/transcriptions:transcribe?api-version=2025-10-15"
    assert (
        transcribe_url("https://name.cognitiveservices.azure.com/")
        == f"https://name.cognitiveservices.azure.com/{version}"
    )
    assert transcribe_url("ws://127.0.0.1:5000") == f"http://127.0.0.1:5000/{version}"
    assert transcribe_url("wss://host:8443") == f"https://host:8443/{version}"


def test_the_body_is_as_long_as_it_says_and_carries_the_audio_byte_for_byte():
    audio = bytes(range(256)) * 1000
    body = MultipartBody(b'{"locales": ["en-US"]}', io.BytesIO(audio), len(audio), filename="a.wav", deadline=1e18)
    assert body.tell() == 0
    sent = b"".join(body)
    assert len(sent) == len(body) == body.sent
    head = f"Content-Type: {body.content_type}\r\n\r\n".encode()
    parts = {part.get_param("name", header="content-disposition"): part for part in _parts(head + sent)}
    assert json.loads(parts["definition"].get_content()) == {"locales": ["en-US"]}
    assert parts["audio"].get_content() == audio


def _parts(message: bytes):
    return BytesParser(policy=HTTP).parsebytes(message).iter_parts()


# -- the answer ---------------------------------------------------------------------------------------------
ANSWER = {
    "durationMilliseconds": 9000,
    "phrases": [
        {
            "speaker": 2,
            "offsetMilliseconds": 4000,
            "durationMilliseconds": 2000,
            "text": "Hallo zusammen.",
            "locale": "de-DE",
            "confidence": 0.8,
            "words": [{"text": "zusammen.", "offsetMilliseconds": 4900, "durationMilliseconds": 9000}],
        },
        {"speaker": 1, "offsetMilliseconds": 0, "durationMilliseconds": 1500, "text": "Hello.", "locale": "en-US"},
        {"offsetMilliseconds": "soon", "text": "no time"},
        "not a phrase",
    ],
}


def test_the_answer_becomes_the_segments_a_real_time_session_gives():
    plain = fast_result(ANSWER, FAST, "mix")
    assert plain.seconds == 9.0
    assert [(s.speaker, s.start, s.end, s.text) for s in plain.segments] == [
        ("Guest-1", 0.0, 1.5, "Hello."),
        ("Guest-2", 4.0, 6.0, "Hallo zusammen."),
    ]
    assert all(s.language is None and s.words is None and s.confidence is None for s in plain.segments)
    rich = fast_result(ANSWER, parse_text({"languages": "en-US,de-DE", "words": "true"}, FAST), "mix").segments
    assert [(s.language, s.confidence) for s in rich] == [("en-US", None), ("de-DE", 0.8)]
    assert [(w.text, w.start, w.end) for w in rich[1].words] == [("zusammen.", 4.9, 6.0)]  # kept in its segment
    apart = fast_result(
        {"phrases": [{**ANSWER["phrases"][1], "channel": 1}]},
        parse_text({"channel_names": "Agent,Customer"}, FAST),
        "separate",
    )
    assert apart.segments[0].speaker == "Customer"
    assert fast_result(ANSWER, parse_text({"diarization": "false"}, FAST), "mix").segments[0].speaker == "Speaker-1"
    assert fast_result("not json", FAST, "mix").segments == []


@pytest.mark.parametrize(
    ("status", "code", "transient", "retried"),
    [
        (400, "bad_request", False, False),
        (401, "authentication_failed", False, False),
        (403, "authentication_failed", False, False),
        (404, "configuration_error", False, False),
        (413, "audio_too_large", False, False),
        (422, "unsupported_audio", False, False),
        (429, "throttled", True, True),
        (500, "service_error", True, True),
        (503, "service_error", True, True),
    ],
)
def test_each_refusal_is_typed_by_its_status(status, code, transient, retried):
    text = json.dumps({"code": "InvalidRequest", "message": "No.", "innerError": {"code": "EmptyRequest"}})
    error = refusal(status, text, "the fast transcription API")
    assert (error.code, error.transient, error.refused_at_start) == (code, transient, retried)
    gateway = refusal(status, json.dumps({"error": {"code": str(status), "message": "Access denied."}}), "it")
    assert gateway.code == code
