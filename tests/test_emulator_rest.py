"""Fast transcription on the speech emulator, over real HTTP, on the same port as its websocket.

Each test sends what the service documents (a multipart ``definition`` + ``audio``, a Bearer token) to an
emulator process and checks the answer: the transcript against the script espeak-ng spoke (WER), the
``TranscribeResult`` shape, speakers with ``maxSpeakers``, separate channels, profanity modes, the
service's error shapes, every fault mode, the rate limit, and that the websocket still works beside it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import azure.cognitiveservices.speech as speechsdk
import pytest

from speech_emulator.auth import SECRET_ENV
from speech_emulator.process import start_emulator
from tests import audio_formats, speech_audio
from tests.blob_io import word_error_rate
from tests.rest_client import FAST_PATH, call, call_json, form, http_url, transcribe
from tests.test_speech_emulator import SECRET, file_input, mint, recognize_once, speech_config

#: These start real processes of their own (the speech emulator, the stack): not for ``make test-unit``.
pytestmark = pytest.mark.stack

DIARIZE = {"locales": ["en-US"], "diarization": {"enabled": True, "maxSpeakers": 2}}


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("rest-audio")
    three = speech_audio.three_sentences(folder / "three.wav")
    dialogue, timeline = speech_audio.dialogue_with_timeline(folder / "dialogue.wav")
    mp3 = audio_formats.FORMATS[[f.name for f in audio_formats.FORMATS].index("mp3")]
    return SimpleNamespace(
        three=three,
        three_mp3=audio_formats.encode(three, mp3, folder / "three.mp3"),
        dialogue=dialogue,
        timeline=timeline,
        call=audio_formats.call_recording(dialogue, timeline, speech_audio.VOICE_A, folder / "call.wav"),
        profane=speech_audio.speak(speech_audio.PROFANE_SENTENCE, folder / "profane.wav"),
        short=speech_audio.speak("Hello world.", folder / "short.wav"),
        three_voices=three_voices(folder),
    )


def three_voices(folder: Path) -> Path:
    """A low, a high and a middle voice (the low one pitched up 6 semitones): three clusters of pitch."""
    low = speech_audio.speak("Good morning everyone.", folder / "v1.wav", voice=speech_audio.VOICE_A)
    high = speech_audio.speak("Hello there, how are you?", folder / "v2.wav", voice=speech_audio.VOICE_B)
    raw = speech_audio.speak("Nice to meet you all.", folder / "v3-raw.wav", voice=speech_audio.VOICE_A)
    subprocess.run(["sox", "-D", str(raw), str(folder / "v3.wav"), "pitch", "600"], check=True)
    return speech_audio.concat([low, high, folder / "v3.wav"], folder / "three-voices.wav")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Tokens required, as in the stack; faults that hold a connection give up after 5 s."""
    log = tmp_path_factory.mktemp("rest-emulator") / "emulator.log"
    args = ("--require-token", "--stall-limit", "5", "--rest-slow", "1")
    with start_emulator(extra_args=args, env={SECRET_ENV: SECRET}, log_path=log) as (url, process):
        yield SimpleNamespace(ws=url, base=http_url(url), log=log, token=mint(), process=process)


def fast(emulator: SimpleNamespace, definition: dict | None, audio: Path | bytes | None, **kwargs) -> object:
    return transcribe(emulator.base, definition, audio, token=kwargs.pop("token", emulator.token), **kwargs)


# --------------------------------------------------------------------------------------------
# transcripts


@pytest.mark.parametrize("recording", ["three", "three_mp3"])
def test_read_speech_within_wer_bound(emulator: SimpleNamespace, audio: SimpleNamespace, recording: str) -> None:
    answer = fast(emulator, {"locales": ["en-US"]}, getattr(audio, recording))

    assert answer.status == 200, answer.body
    result = answer.json()
    assert word_error_rate(result["combinedPhrases"][0]["text"]) <= 0.2, result["combinedPhrases"]
    assert set(result["combinedPhrases"][0]) == {"text"}  # no channel key without separate channels
    assert abs(result["durationMilliseconds"] - speech_audio.duration_seconds(audio.three) * 1000) < 200
    assert len(result["phrases"]) == 3
    previous_end = 0
    for phrase in result["phrases"]:
        assert {"channel", "speaker"}.isdisjoint(phrase)
        assert phrase["locale"] == "en-US"
        assert 0 < phrase["confidence"] <= 1
        start, end = phrase["offsetMilliseconds"], phrase["offsetMilliseconds"] + phrase["durationMilliseconds"]
        assert start >= previous_end
        assert phrase["words"]
        assert all(
            start <= w["offsetMilliseconds"] <= w["offsetMilliseconds"] + w["durationMilliseconds"] <= end
            for w in phrase["words"]
        )
        assert " ".join(w["text"] for w in phrase["words"]) == phrase["text"]
        previous_end = end


@pytest.mark.parametrize("diarization", [{"enabled": True, "maxSpeakers": 2}, {"maxSpeakers": 2}])
def test_two_voices_with_max_speakers_two(emulator: SimpleNamespace, audio: SimpleNamespace, diarization: dict) -> None:
    """``maxSpeakers`` alone turns diarization on: the official client sends only that."""
    answer = fast(emulator, {"locales": ["en-US"], "diarization": diarization}, audio.dialogue)

    assert answer.status == 200, answer.body
    phrases = answer.json()["phrases"]
    assert {p["speaker"] for p in phrases} == {1, 2}
    voices = {}
    for phrase in phrases:
        middle = (phrase["offsetMilliseconds"] + phrase["durationMilliseconds"] / 2) / 1000
        voice = next(v for v, start, end in audio.timeline if start <= middle <= end)
        assert voices.setdefault(voice, phrase["speaker"]) == phrase["speaker"], phrases


def test_max_speakers_is_an_upper_bound(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """Three voices (the third pitched midway between the other two) are three speakers, or two with maxSpeakers 2."""
    three_voices = audio.three_voices
    unbounded = fast(emulator, {"locales": ["en-US"], "diarization": {"enabled": True}}, three_voices)
    bounded = fast(emulator, DIARIZE, three_voices)

    assert [p["speaker"] for p in unbounded.json()["phrases"]] == [1, 2, 3]
    assert [p["speaker"] for p in bounded.json()["phrases"]] == [1, 2, 1]


def test_separate_channels(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    answer = fast(emulator, {"locales": ["en-US"], "channels": [0, 1]}, audio.call)

    assert answer.status == 200, answer.body
    result = answer.json()
    assert [c["channel"] for c in result["combinedPhrases"]] == [0, 1]
    lines = {voice: " ".join(t for v, t in speech_audio.DIALOGUE if v == voice) for voice, _ in speech_audio.DIALOGUE}
    assert word_error_rate(result["combinedPhrases"][0]["text"], lines[speech_audio.VOICE_A]) <= 0.2
    assert word_error_rate(result["combinedPhrases"][1]["text"], lines[speech_audio.VOICE_B]) <= 0.2
    assert [p["channel"] for p in result["phrases"]] == [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        (None, r"Oh c\*\*\*, the d\*\*\* printer"),
        ("Masked", r"Oh c\*\*\*, the d\*\*\* printer"),
        ("None", "Oh crap, the damn printer"),
        ("Removed", "Oh, the printer"),
        ("Tags", "Oh <profanity>crap</profanity>, the <profanity>damn</profanity> printer"),
    ],
)
def test_profanity_modes(emulator: SimpleNamespace, audio: SimpleNamespace, mode: str | None, shown: str) -> None:
    definition = {"locales": ["en-US"]} | ({"profanityFilterMode": mode} if mode else {})
    answer = fast(emulator, definition, audio.profane)

    assert answer.status == 200, answer.body
    phrase = answer.json()["phrases"][0]
    assert re.search(shown, phrase["text"]), phrase["text"]
    spoken = " ".join(w["text"] for w in phrase["words"])
    if mode == "Removed":  # a removed word takes its punctuation with it
        spoken, phrase["text"] = re.sub(r"[^\w ]", "", spoken), re.sub(r"[^\w ]", "", phrase["text"])
    assert spoken == phrase["text"]


def test_phrase_list_and_language_identification(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    names = speech_audio.speak(speech_audio.NAMES_SENTENCE, audio.three.parent / "names.wav")
    answer = fast(emulator, {"locales": ["en-US"], "phraseList": {"phrases": list(speech_audio.NAMES)}}, names)
    assert answer.status == 200
    assert all(n in answer.json()["phrases"][0]["text"] for n in speech_audio.NAMES)

    lines = [(voice, text) for voice, _locale, text in speech_audio.MULTILINGUAL]
    multilingual = speech_audio.spoken(audio.three.parent, "multilingual", lines)
    answer = fast(emulator, {"locales": ["en-US", "de-DE", "es-ES"]}, multilingual)
    assert answer.status == 200, answer.body
    assert [p["locale"] for p in answer.json()["phrases"]] == [locale for _v, locale, _t in speech_audio.MULTILINGUAL]


# --------------------------------------------------------------------------------------------
# refusals, in the service's shapes


@pytest.mark.parametrize(
    ("definition", "inner"),
    [
        ({"diarization": {"maxSpeakers": 1}}, "InvalidParameterValue"),
        ({"channels": [0, 1], "diarization": {"enabled": True}}, "InvalidParameterValue"),
        ({"channels": [3]}, "InvalidChannels"),
        ({"locales": ["xx-XX"]}, "UnsupportedLanguageCode"),
        ({"profanityFilterMode": "Loud"}, "InvalidParameterValue"),
    ],
)
def test_bad_definition_is_400(emulator: SimpleNamespace, audio: SimpleNamespace, definition: dict, inner: str) -> None:
    answer = fast(emulator, definition, audio.short)

    assert answer.status == 400
    assert answer.json()["code"] == "InvalidRequest"
    assert answer.json()["innerError"]["code"] == inner


def test_audio_it_cannot_decode_or_no_audio(emulator: SimpleNamespace) -> None:
    undecodable = fast(emulator, {"locales": ["en-US"]}, b"RIFF\x00\x00\x00\x00WAVEjunk" * 64)
    missing = fast(emulator, {"locales": ["en-US"]}, None)
    version = fast(emulator, {}, b"x", version="2020-01-01")

    assert (undecodable.status, undecodable.json()["code"]) == (422, "UnprocessableEntity")
    assert (missing.status, missing.json()["innerError"]["code"]) == (400, "EmptyRequest")
    assert (version.status, version.json()["code"]) == (400, "InvalidRequest")


def test_over_300_mb_is_413_before_the_upload(emulator: SimpleNamespace) -> None:
    """Refused on the declared length, before the body is read: the client is told at once."""
    with socket.create_connection(("127.0.0.1", int(emulator.base.rsplit(":", 1)[1])), timeout=10) as sock:
        head = (
            f"POST {FAST_PATH}?api-version=2025-10-15 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {emulator.token}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {301 * 2**20}\r\n\r\n"
        )
        sock.sendall(head.encode())
        answer = sock.recv(65536).decode()

    assert answer.startswith("HTTP/1.1 413")
    assert '"code": "InvalidRequest"' in answer


@pytest.mark.parametrize(
    "token",
    [None, mint(audience="https://storage.azure.com"), mint(lifetime=-60), mint(secret="x" * 40)],
    ids=["missing", "wrong-audience", "expired", "bad-signature"],
)
def test_token_refused_in_the_gateway_shape(emulator: SimpleNamespace, audio: SimpleNamespace, token: str) -> None:
    answer = transcribe(emulator.base, {"locales": ["en-US"]}, audio.short, token=token)

    assert answer.status == 401
    assert answer.json()["error"]["code"] == "401"


# --------------------------------------------------------------------------------------------
# faults


@pytest.mark.parametrize(
    ("fault", "status", "shape"),
    [
        ("reject-429", 429, "gateway"),
        ("reject-401", 401, "gateway"),
        ("reject-500", 500, "api"),
        ("reject-503", 503, "api"),
    ],
)
def test_reject_faults(emulator: SimpleNamespace, audio: SimpleNamespace, fault: str, status: int, shape: str) -> None:
    answer = fast(emulator, {"locales": ["en-US"]}, audio.short, query=f"&fault={fault}")

    assert answer.status == status
    assert (answer.json()["error"]["code"] == str(status)) if shape == "gateway" else "code" in answer.json()
    assert (answer.headers.get("Retry-After") == "1") == (status == 429)


def test_slow_fault_waits_then_answers(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    started = time.monotonic()
    answer = fast(emulator, {"locales": ["en-US"]}, audio.short, query="&fault=slow&fault-delay=1.5")

    assert answer.status == 200
    assert time.monotonic() - started >= 1.5


def test_silent_fault_never_answers(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fast(emulator, {"locales": ["en-US"]}, audio.short, query="&fault=silent", timeout=2)
    assert time.monotonic() - started < 5


def test_cut_fault_resets_mid_upload(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    body, content_type = form({"locales": ["en-US"]}, audio.three.read_bytes() * 20)  # ~8 MB
    with pytest.raises((ConnectionError, OSError)):
        call(
            "POST",
            f"{emulator.base}{FAST_PATH}?api-version=2025-10-15&fault=cut",
            token=emulator.token,
            body=body,
            content_type=content_type,
        )
    assert "fault=cut" in emulator.log.read_text()


def test_unknown_fault_is_refused_not_ignored(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    answer = fast(emulator, {}, audio.short, query="&fault=reject-42")
    assert answer.status == 400
    assert "unknown fast fault" in answer.json()["message"]


def test_planned_faults_then_success(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """``POST /emulator/faults``: 429 for the next request only, as a retrying client meets it."""
    planned = call_json("POST", f"{emulator.base}/emulator/faults", {"api": "fast", "fault": "reject-429", "count": 1})
    first = fast(emulator, {"locales": ["en-US"]}, audio.short)
    second = fast(emulator, {"locales": ["en-US"]}, audio.short)

    assert planned.status == 200
    assert (first.status, first.headers.get("Retry-After")) == (429, "1")
    assert second.status == 200


def test_command_line_fault_pace_and_rate_limit(tmp_path: Path, audio: SimpleNamespace) -> None:
    """``--fast-fault reject-503:1`` fails the first request only; ``--fast-pace 2`` holds an answer for half the
    audio's duration; ``--fast-rate 4`` refuses a fifth request in a minute (an injected refusal is answered
    before the quota counts it, as the gateway's own would be).
    """
    args = ("--fast-fault", "reject-503:1", "--fast-rate", "4", "--batch-rate", "2", "--fast-pace", "2")
    with start_emulator(extra_args=args, log_path=tmp_path / "emulator.log") as (url, _process):
        base = http_url(url)
        fast_statuses = [transcribe(base, {}, b"", token=None).status for _ in range(4)]
        started = time.monotonic()
        paced = transcribe(base, {}, audio.short, token=None)
        paced_seconds = time.monotonic() - started
        limited = transcribe(base, {}, b"", token=None)
        batch_statuses = [
            call_json("POST", f"{base}/speechtotext/transcriptions:submit?api-version=2024-11-15", {}).status
            for _ in range(3)
        ]

    assert fast_statuses == [503, 400, 400, 400]  # 400: an empty form gets as far as the operation
    assert paced.status == 200
    assert paced_seconds >= speech_audio.duration_seconds(audio.short) / 2
    assert limited.json()["error"]["code"] == "429"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert batch_statuses == [400, 400, 429]


# --------------------------------------------------------------------------------------------
# one port


def test_websocket_and_rest_share_the_port(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    result = recognize_once(speech_config(emulator.ws, token=emulator.token), file_input(audio.short))
    stats = call("GET", f"{emulator.base}/stats")
    answer = fast(emulator, {"locales": ["en-US"]}, audio.short)

    assert result.reason == speechsdk.ResultReason.RecognizedSpeech
    assert stats.status == 200
    assert json.loads(stats.body)["accepted"] >= 1
    assert answer.status == 200
    assert "hello" in answer.json()["combinedPhrases"][0]["text"].lower()
