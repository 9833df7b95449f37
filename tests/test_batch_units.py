"""What the batch engine sends and reads, without any process: the submission built from the options (a plain
URL, nothing that gives the service a token), what batch refuses before any token, the result file read into
segments, a ``Failed`` status typed by its code, the callback's signature, and when the sweep polls. The same
against the real emulator, Azurite and the runtime: ``tests/test_batch_engine.py``, ``test_batch_faults.py``,
``test_batch_webhook.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.api.callbacks import _verify, sign
from shared.audio import AudioFound
from shared.batch.poll import is_poll_due
from shared.batch.records import Waiting
from shared.batch.request import id_from_self, require_plain, submission, transcription_url
from shared.batch.result import batch_result, failure
from shared.engines import BATCH_MAX_BYTES, choose_engine
from shared.errors import (
    AudioTooLargeError,
    ConfigurationError,
    InvalidOptionsError,
    SignatureError,
    UnsupportedAudioError,
)
from shared.options import RecognitionOptions, parse_text

URL = "https://account.blob.core.windows.net/audio-in/calls/monday%20call.wav"
BATCH = parse_text({"engine": "batch"}, RecognitionOptions())
WAV = AudioFound("wav", "pcm_s16le", 16000, 1, 16, 60.0)
ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def found(**changes) -> AudioFound:
    return AudioFound(**{**WAV.__dict__, **changes})


# -- the submission --------------------------------------------------------------------------------------------
def test_the_submission_gives_the_service_a_plain_url_and_nothing_to_read_it_with():
    body = submission(URL, BATCH, "mix", "calls/monday call.wav")
    assert body["contentUrls"] == [URL]
    assert set(body) == {"contentUrls", "locale", "displayName", "properties"}
    assert "destinationContainerUrl" not in body["properties"]
    text = repr(body).lower()
    for secret in ("sig=", "sv=", "se=", "token", "key", "sharedaccesssignature", "?"):
        assert secret not in text, secret


@pytest.mark.parametrize(
    "url",
    [URL + "?sv=2024-08-04&sig=abc", "https://user:key@account.blob.core.windows.net/a/b.wav", "ftp://a/b.wav"],
)
def test_a_url_that_could_carry_access_is_never_submitted(url):
    with pytest.raises(ConfigurationError, match="plain blob URL"):
        submission(url, BATCH, "mix", "b.wav")
    with pytest.raises(ConfigurationError):
        require_plain(url)


def test_each_option_goes_into_the_properties_in_the_apis_words():
    default = submission(URL, BATCH, "mix", "x")["properties"]
    assert default == {
        "timeToLiveHours": 48,
        "wordLevelTimestampsEnabled": False,
        "displayFormWordLevelTimestampsEnabled": False,
        "profanityFilterMode": "Masked",
        "punctuationMode": "DictatedAndAutomatic",
        "channels": [0],
        "diarization": {"enabled": True, "maxSpeakers": 35},
    }
    asked = parse_text({"languages": "en-US,de-DE", "words": "true", "profanity": "raw", "max_speakers": "3"}, BATCH)
    body = submission(URL, asked, "mix", "x")
    assert body["locale"] == "en-US"
    assert body["properties"]["languageIdentification"] == {
        "candidateLocales": ["en-US", "de-DE"],
        "mode": "Continuous",
    }
    assert body["properties"]["diarization"] == {"enabled": True, "maxSpeakers": 3}
    assert body["properties"]["profanityFilterMode"] == "None"
    assert (
        body["properties"]["wordLevelTimestampsEnabled"] is body["properties"]["displayFormWordLevelTimestampsEnabled"]
    )
    apart = submission(URL, parse_text({"diarization": "false"}, BATCH), "separate", "x")["properties"]
    assert (apart["channels"], "diarization" in apart) == ([0, 1], False)
    assert "diarization" not in submission(URL, parse_text({"diarization": "false"}, BATCH), "mix", "x")["properties"]


def test_the_transcriptions_url_is_built_from_the_endpoint_and_an_id_never_from_a_callback():
    assert transcription_url("https://name.cognitiveservices.azure.com/", ID.upper(), "/files") == (
        f"https://name.cognitiveservices.azure.com/speechtotext/transcriptions/{ID}/files?api-version=2025-10-15"
    )
    assert transcription_url("ws://127.0.0.1:5000", ID).startswith("http://127.0.0.1:5000/")
    assert id_from_self(f"https://evil.example/speechtotext/v3.2/transcriptions/{ID}?x=1") == ID
    for bad in (f"https://h/speechtotext/transcriptions/{ID}/files", "https://h/transcriptions/../x", None, 7):
        assert id_from_self(bad) is None
    with pytest.raises(ValueError, match="not a transcription id"):
        transcription_url("https://h/", "../../webhooks")


# -- what batch cannot take ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("audio", "size", "mode", "error", "why"),
    [
        (found(container="m4a", codec="aac"), 1000, "mix", UnsupportedAudioError, "does not document m4a"),
        (WAV, BATCH_MAX_BYTES + 1, "mix", AudioTooLargeError, "1 GB at most"),
        (found(channels=2), 1000, "mix", InvalidOptionsError, "does not mix channels"),
        (found(channels=3), 1000, "separate", InvalidOptionsError, "at most 2 apart"),
    ],
    ids=["m4a", "over-1GB", "stereo-mixed", "3-channels-apart"],
)
def test_what_batch_cannot_take_is_refused_by_its_rule(audio, size, mode, error, why):
    with pytest.raises(error, match=why) as refused:
        choose_engine(BATCH, audio, size, mode)
    assert refused.value.message.startswith("engine=batch: ")


def test_batch_is_chosen_only_by_name_and_auto_never_picks_it():
    assert choose_engine(BATCH, WAV, 1000, "mix").engine == "batch"
    assert choose_engine(BATCH, found(channels=2), 1000, "separate").engine == "batch"
    auto = parse_text({"engine": "auto"}, RecognitionOptions())
    for audio, size in ((WAV, 1000), (found(declared_seconds=180 * 60.0), 10**9)):
        assert choose_engine(auto, audio, size, "mix").engine != "batch"


# -- the answer ------------------------------------------------------------------------------------------------
def phrase(offset: int, text: str, **fields) -> dict:
    best = {"confidence": 0.9, "display": text, **fields.pop("best", {})}
    return {"recognitionStatus": "Success", "channel": 0, "offsetMilliseconds": offset,
            "durationMilliseconds": 1500, "nBest": [best], **fields}  # fmt: skip


def test_the_result_file_becomes_the_segments_every_engine_gives():
    words = {"displayWords": [{"displayText": "Hello,", "offsetMilliseconds": 2000, "durationMilliseconds": 400,
                               "confidence": 0.8}, {"displayText": "late", "offsetMilliseconds": 9000,
                                                    "durationMilliseconds": 100}]}  # fmt: skip
    result = {
        "durationMilliseconds": 5000,
        "recognizedPhrases": [
            phrase(2000, "Hello, there.", speaker=2, best=words),
            phrase(0, "First.", speaker=1),
            {"recognitionStatus": "NoMatch", "offsetMilliseconds": 100},
            {"recognitionStatus": "Success", "offsetMilliseconds": "bad", "nBest": [{"display": "x"}]},
        ],
    }
    plain = batch_result([result], BATCH, "mix")
    assert plain.seconds == 5.0
    assert [(s.speaker, s.start, s.text, s.words) for s in plain.segments] == [
        ("Guest-1", 0.0, "First.", None),
        ("Guest-2", 2.0, "Hello, there.", None),
    ]
    detailed = batch_result([result], parse_text({"words": "true"}, BATCH), "mix").segments[1]
    assert detailed.confidence == 0.9
    assert [(w.text, w.start, w.end, w.confidence) for w in detailed.words] == [
        ("Hello,", 2.0, 2.4, 0.8),
        ("late", 3.5, 3.5, None),  # kept inside its segment
    ]
    named = parse_text({"channel_names": "Agent,Customer"}, BATCH, channel_mode="separate")
    apart = batch_result([{"recognizedPhrases": [phrase(0, "Hi.", channel=1)]}], named, "separate")
    assert apart.segments[0].speaker == "Customer"
    assert batch_result([], BATCH, "mix").segments == []


@pytest.mark.parametrize(
    ("code", "expected", "transient"),
    [
        ("InvalidData", "unsupported_audio", False),
        ("InvalidRecordingsUri", "bad_request", False),
        ("InaccessibleCustomerStorage", "storage_access_denied", True),
        ("InternalServerError", "service_error", True),
        ("SomethingNew", "service_error", True),
        ("", "service_error", True),
    ],
)
def test_a_failed_transcription_is_typed_by_its_code(code, expected, transient):
    error = failure({"status": "Failed", "properties": {"error": {"code": code, "message": "No."}}}, ID)
    assert (error.code, error.transient) == (expected, transient)
    assert ID in error.message
    assert error.sdk_error_code == code


# -- the callback's signature, and the sweep's polls -----------------------------------------------------------
def test_only_the_bodys_own_hmac_with_the_secret_is_accepted():
    secret, body = "s" * 36, b'{"self": "x"}'
    _verify(body, sign(body, secret), secret)
    for given in (None, "", sign(body, "t" * 36), sign(body + b" ", secret), sign(body, secret).lower(), "é"):
        with pytest.raises(SignatureError):
            _verify(body, given, secret)
    with pytest.raises(ConfigurationError, match="SPEECH_WEBHOOK_SECRET"):
        _verify(body, sign(body, secret), None)


def test_the_sweep_polls_a_transcription_ten_minutes_after_it_was_submitted_then_less_and_less_often():
    start = datetime(2026, 12, 1, tzinfo=UTC)
    fresh = Waiting(ID, start)
    assert not is_poll_due(fresh, start + timedelta(minutes=9))
    assert is_poll_due(fresh, start + timedelta(minutes=10))
    polled = Waiting(ID, start, polls=1, polled_at=start + timedelta(minutes=10))
    assert not is_poll_due(polled, start + timedelta(minutes=29))
    assert is_poll_due(polled, start + timedelta(minutes=30))
    late = Waiting(ID, start, polls=9, polled_at=start)
    assert is_poll_due(late, start + timedelta(hours=1))  # never more than an hour apart
