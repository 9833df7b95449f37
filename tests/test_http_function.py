"""The HTTP door, called with the azure-functions library's own ``HttpRequest``."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import jiwer
import pytest

from shared.errors import ConfigurationError, InternalError
from tests import speech_audio
from tests.app_functions import api
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
    assert doc["schema"] == "stt-transcript/1"
    assert doc["segments"]


def test_format_txt_returns_speaker_turns(three_sentences_wav):
    response = post(three_sentences_wav.read_bytes(), format="txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_body().decode()
    assert text.startswith("[00:00:0")
    assert "Guest-1:" in text
    assert "quarterly report" in text.lower()


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
    assert error["code"] == code
    assert said in error["message"]


def test_a_content_length_of_unicode_digits_is_ignored_not_a_crash():
    response = post(b"this is not audio at all, just some text", {"content-length": "\u00b2"})  # "²".isdigit()
    assert response.status_code == 415
    assert json.loads(response.get_body())["error"]["code"] == "unsupported_audio"


def test_an_unexpected_failure_is_the_one_json_error_and_its_traceback_is_logged(monkeypatch, caplog):
    from shared.api import jobs

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug near https://10.0.0.4:10000/jobs?sig=secret")

    monkeypatch.setattr(jobs, "list_jobs", broken)
    with caplog.at_level(logging.ERROR, logger="shared.api.responses"):
        response = api("GET", "/api/transcriptions")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    error = json.loads(response.get_body())["error"]
    assert error["code"] == InternalError.code
    assert "sig=" not in error["message"]
    assert "10.0.0.4" not in error["message"]
    assert any(r.exc_info and "bug near" in str(r.exc_info[1]) for r in caplog.records)  # the log has the cause


@pytest.mark.parametrize(
    "setting", [("AudioStorage", "not a connection string"), ("AudioStorage__blobServiceUri", "https://")]
)
def test_a_malformed_storage_setting_is_a_configuration_error_and_health_says_so(monkeypatch, setting):
    monkeypatch.delenv("AudioStorage__blobServiceUri")
    monkeypatch.setenv(*setting)
    response = api("GET", "/api/transcriptions")
    assert response.status_code == 500
    error = json.loads(response.get_body())["error"]
    assert error["code"] == ConfigurationError.code
    assert "AudioStorage" in error["message"]
    health = call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert health.status_code == 503
    (problem,) = json.loads(health.get_body())["problems"]
    assert problem.startswith("configuration_error: ")
    assert "AudioStorage" in problem


def test_accept_q_values_are_honoured_and_a_short_job_reports_its_length_done(three_sentences_wav):
    from shared.recordings.door import handle_blob
    from tests.conftest import host_blob_client

    created = post(three_sentences_wav.read_bytes(), {"prefer": "respond-async"})
    job = json.loads(created.get_body())
    handle_blob(host_blob_client("audio-in", f"jobs/{job['id']}.wav"))
    status = json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())
    progress = status["progress"]
    assert status["status"] == "succeeded"
    assert progress["seconds_done"] == progress["seconds_total"] > 0
    url = f"/api/transcriptions/{job['id']}/transcript"
    for accept, content_type in [
        ("application/json;q=0.5, text/vtt", "text/vtt"),
        ("text/vtt;q=0.1, application/x-subrip;q=0.9", "application/x-subrip"),
        ("application/json;q=0, */*", "text/plain"),
    ]:
        response = api("GET", url, headers={"accept": accept})
        assert (response.status_code, response.mimetype) == (200, content_type), accept
    assert api("GET", url, headers={"accept": "text/vtt;q=0"}).status_code == 406


def test_a_bad_format_is_the_same_error_on_every_route():
    """One taxonomy: ``?format=pdf`` is ``invalid_request`` on POST and on GET .../transcript alike."""
    from shared.jobs.names import new_job_id

    posted = json.loads(post(b"RIFF", format="pdf").get_body())["error"]
    fetched = json.loads(api("GET", f"/api/transcriptions/{new_job_id()}/transcript?format=pdf").get_body())["error"]
    assert posted["code"] == fetched["code"] == "invalid_request"
    assert posted["message"] == fetched["message"]


def test_oversized_body_is_refused_with_413(monkeypatch, three_sentences_wav):
    monkeypatch.setenv("HTTP_MAX_BYTES", "1000")
    response = post(three_sentences_wav.read_bytes())
    assert response.status_code == 413
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "audio_too_large"
    assert "HTTP_MAX_BYTES" in error["message"]


def test_health_reports_configuration_without_secrets(stack):
    response = call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["status"] == "ok"
    assert body["settings"]["speech_endpoint"] == stack.speech_endpoint
    assert "AccountKey" not in response.get_body().decode()
    assert stack.env["LOCAL_IDENTITY_SECRET"] not in response.get_body().decode()


def test_health_names_a_missing_setting(monkeypatch):
    monkeypatch.delenv("SPEECH_ENDPOINT")
    response = call("health", func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    assert response.status_code == 503
    assert "SPEECH_ENDPOINT" in json.loads(response.get_body())["error"]["message"]
