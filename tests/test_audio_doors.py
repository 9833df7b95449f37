"""Compressed audio, limits, too-short and silent audio, and progress logs through the HTTP and blob doors."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
import wave

import jiwer
import pytest

from shared.platform.credentials import SPEECH_SCOPE
from tests import speech_audio
from tests.app_functions import invoke_blob
from tests.app_functions import post_transcription as post
from tests.test_audio import video_without_audio

SPEECH = SPEECH_SCOPE.removesuffix("/.default")


def silence_wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(seconds * 16000))
    return buf.getvalue()


def error_of(response) -> dict:
    return json.loads(response.get_body())["error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            lambda files: files["m4a-moov-at-end"].read_bytes()[:60_000],
            "MP4/M4A data that cannot be opened: it is truncated",
        ),
        (lambda files: video_without_audio(), "found mp4 with no audio track"),
        (lambda files: b"#EXTM3U\n#EXTINF:1,\nhttp://169.254.169.254/metadata\n", "M3U/HLS playlist"),
    ],
    ids=["truncated-m4a", "video-without-audio", "playlist"],
)
def test_bad_audio_is_415_saying_what_was_found_and_fetches_no_token(stack, format_files, body, says):
    before = stack.token_requests().get(SPEECH, 0)
    response = post(body(format_files))
    assert response.status_code == 415
    error = error_of(response)
    assert error["code"] == "unsupported_audio"
    assert says in error["message"]
    assert stack.token_requests().get(SPEECH, 0) == before


def test_audio_longer_than_max_audio_minutes_is_413(stack, format_files, monkeypatch):
    monkeypatch.setenv("MAX_AUDIO_MINUTES", "0.1")
    before = stack.token_requests().get(SPEECH, 0)
    response = post(format_files["ogg-opus"].read_bytes())
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "audio_too_large"
    assert "MAX_AUDIO_MINUTES" in error["message"]
    assert stack.token_requests().get(SPEECH, 0) == before


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        (silence_wav(0.2), "the audio is 0.20 s long, too short to transcribe"),
        (silence_wav(0), "the audio has no samples"),
    ],
    ids=["0.2s", "empty"],
)
def test_audio_too_short_to_transcribe_is_a_transcript_with_a_warning_and_no_session(stack, body, warning):
    before = stack.token_requests().get(SPEECH, 0)
    response = post(body)
    assert response.status_code == 200
    doc = json.loads(response.get_body())
    assert doc["segments"] == []
    assert doc["warnings"] == [warning]
    assert stack.token_requests().get(SPEECH, 0) == before


def test_pure_silence_is_a_transcript_with_no_segments_and_a_warning(stack):
    response = post(silence_wav(3))
    assert response.status_code == 200
    doc = json.loads(response.get_body())
    assert doc["segments"] == []
    assert doc["warnings"] == ["no speech was recognised"]
    assert doc["audio"]["duration_seconds"] == pytest.approx(3.0)


def test_progress_is_logged_with_seconds_decoded_sent_and_recognised(stack, format_files, monkeypatch, caplog):
    from shared.speech import session

    monkeypatch.setattr(session, "PROGRESS_INTERVAL_SECONDS", 0.0)  # every poll instead of every 30 s
    caplog.set_level(logging.INFO, logger="shared")
    response = post(format_files["webm-opus"].read_bytes())  # an HTTP body goes through the same decoder
    assert response.status_code == 200
    doc = json.loads(response.get_body())
    reference = jiwer.RemovePunctuation()(" ".join(speech_audio.THREE_SENTENCES).lower())
    assert jiwer.wer(reference, jiwer.RemovePunctuation()(doc["text"].lower())) <= 0.25
    assert doc["audio"]["format"] == "webm/opus"
    assert doc["audio"]["sample_rate"] == 48000
    pattern = re.compile(r"audio decoded ([\d.]+) s, sent ([\d.]+) s, recognised ([\d.]+) s")
    progress = [tuple(map(float, m.groups())) for r in caplog.records if (m := pattern.search(r.getMessage()))]
    assert len(progress) >= 2, [r.getMessage() for r in caplog.records]
    decoded, sent, recognised = progress[-1]
    assert decoded == sent == pytest.approx(12.8, abs=0.1)
    assert 10 < recognised <= decoded + 0.1
    assert all(s <= d for d, s, _ in progress)  # never sent more than was decoded


def test_a_blob_over_max_audio_bytes_is_refused_permanently_and_kept(stack, service, format_files, monkeypatch):
    data = format_files["flac"].read_bytes()
    name = f"limits/{uuid.uuid4().hex[:12]}.flac"
    service.get_container_client("audio-in").upload_blob(name, data)
    monkeypatch.setenv("MAX_AUDIO_BYTES", str(len(data) - 1))

    invoke_blob("audio-in", name)  # returns: not retried

    error = json.loads(
        service.get_container_client("transcripts").get_blob_client(name + ".error.json").download_blob().readall()
    )
    assert (error["code"], error["transient"]) == ("audio_too_large", False)
    assert "MAX_AUDIO_BYTES" in error["message"]
    assert service.get_container_client("audio-in").get_blob_client(name).download_blob().readall() == data
