"""The HTTP door, called with the azure-functions library's own ``HttpRequest``."""

from __future__ import annotations

import json

import azure.functions as func
import jiwer
import pytest

from tests import speech_audio
from tests.app_functions import call_http as call
from tests.app_functions import post_transcription as post

pytestmark = pytest.mark.usefixtures("stack")


def test_post_wav_returns_the_transcript(three_sentences_wav):
    response = post(three_sentences_wav.read_bytes())
    assert response.status_code == 200, response.get_body()
    assert response.mimetype == "application/json"
    doc = json.loads(response.get_body())
    reference = " ".join(speech_audio.THREE_SENTENCES).lower()
    assert jiwer.wer(jiwer.RemovePunctuation()(reference), jiwer.RemovePunctuation()(doc["text"].lower())) <= 0.25
    assert doc["schema"] == "stt-transcript/1" and doc["segments"]


def test_format_txt_returns_speaker_turns(three_sentences_wav):
    response = post(three_sentences_wav.read_bytes(), format="txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_body().decode()
    assert text.startswith("[00:00:0") and "Guest-1:" in text and "quarterly report" in text.lower()


@pytest.mark.parametrize(
    ("body", "params", "status", "code", "said"),
    [
        (b"", {}, 400, "invalid_request", "request body"),
        (b"this is not audio at all, just some text", {}, 415, "unsupported_audio", "found text"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, {}, 415, "unsupported_audio", "PNG"),
        (b"RIFF", {"format": "pdf"}, 400, "invalid_request", "'pdf'"),
    ],
)
def test_bad_requests_get_a_json_error(body, params, status, code, said):
    response = post(body, **params)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = json.loads(response.get_body())["error"]
    assert error["code"] == code and said in error["message"]


def test_a_bad_format_is_the_same_error_on_every_route():
    """One taxonomy: ``?format=pdf`` is ``invalid_request`` on POST and on GET .../transcript alike."""
    from shared.jobs.names import new_job_id
    from tests.app_functions import api

    posted = json.loads(post(b"RIFF", format="pdf").get_body())["error"]
    fetched = json.loads(api("GET", f"/api/transcriptions/{new_job_id()}/transcript?format=pdf").get_body())["error"]
    assert posted["code"] == fetched["code"] == "invalid_request"
    assert posted["message"] == fetched["message"]


def test_oversized_body_is_refused_with_413(monkeypatch, three_sentences_wav):
    monkeypatch.setenv("HTTP_MAX_BYTES", "1000")
    response = post(three_sentences_wav.read_bytes())
    assert response.status_code == 413
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "audio_too_large" and "HTTP_MAX_BYTES" in error["message"]


def test_health_reports_configuration_without_secrets(stack):
    response = call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["status"] == "ok" and body["settings"]["speech_endpoint"] == stack.speech_endpoint
    assert "AccountKey" not in response.get_body().decode()
    assert stack.env["LOCAL_IDENTITY_SECRET"] not in response.get_body().decode()


def test_health_names_a_missing_setting(monkeypatch):
    monkeypatch.delenv("SPEECH_ENDPOINT")
    response = call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 503
    assert "SPEECH_ENDPOINT" in json.loads(response.get_body())["error"]["message"]
