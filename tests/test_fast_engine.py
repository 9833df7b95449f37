"""The fast engine end to end against the real local processes (the emulator's fast API, Azurite, the identity
endpoint), through every door: the command line, blob metadata, the HTTP query, a job's options and the
``SPEECH_ENGINE`` setting, with ``engine=fast`` and ``engine=auto``.

Held-out read speech (sentences and a voice no other accuracy check uses) comes back within the real-time
bound, WER ≤ 0.2; a male and a female voice with ``max_speakers=2`` come back as two speakers; ``auto``
picks real-time for a recording over fast's limits and for an option only real-time has, and says why;
every combination the rules refuse fails before a token is fetched (counted at the identity endpoint).
"""

from __future__ import annotations

import json
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from shared.recordings.door import handle_blob
from tests import speech_audio
from tests.app_functions import api, new_upload, post_transcription
from tests.blob_io import results, upload, word_error_rate
from tests.conftest import host_blob_client
from tests.faults import SPEECH_RESOURCE, declared_wav
from tests.test_jobs_api import put_blob

REPO = Path(__file__).resolve().parent.parent
#: Sentences the emulator's model was not picked for and no other WER check reads, in a voice none uses.
HELD_OUT = speech_audio.SHORT_SENTENCES[12:18]
HELD_OUT_VOICE = "en-us+m3"


def transcribe(path: Path, *flags: str) -> subprocess.CompletedProcess:
    """``python -m shared.transcribe PATH FLAGS`` with the stack's settings, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "shared.transcribe", str(path), "--quiet", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def tokens(stack) -> int:
    return stack.token_requests().get(SPEECH_RESOURCE, 0)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("held-out")
    return speech_audio.spoken(folder, "held-out", [(HELD_OUT_VOICE, text) for text in HELD_OUT])


# -- the command line ---------------------------------------------------------------------------------------
def test_held_out_read_speech_through_engine_fast_is_within_the_real_time_wer_bound(stack, held_out):
    run = transcribe(held_out, "--engine", "fast", "--format", "json")
    assert run.returncode == 0, run.stderr
    transcript = json.loads(run.stdout)
    wer = word_error_rate(transcript["text"], " ".join(HELD_OUT))
    print(f"held-out read speech through the fast engine: WER {wer:.3f}")
    assert wer <= 0.2, transcript["text"]
    assert (transcript["engine"], transcript["engine_reason"]) == ("fast", None)
    assert transcript["options"]["engine"] == "fast"


def test_a_male_and_a_female_voice_with_max_speakers_2_are_two_speakers(stack, dialogue_wav):
    before = tokens(stack)
    run = transcribe(dialogue_wav, "--engine", "fast", "--max-speakers", "2", "--format", "json")
    assert run.returncode == 0, run.stderr
    transcript = json.loads(run.stdout)
    assert transcript["speakers"] == ["Guest-1", "Guest-2"], transcript["segments"]
    assert [s["speaker"] for s in transcript["segments"]] == ["Guest-1", "Guest-2", "Guest-1", "Guest-2"]
    assert transcript["options"]["max_speakers"] == 2
    assert tokens(stack) == before + 1  # a token of its own, fetched once


def test_the_command_line_refuses_max_speakers_with_real_time_before_any_token(stack, dialogue_wav):
    before = tokens(stack)
    run = transcribe(dialogue_wav, "--max-speakers", "2")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("error: invalid_options: max_speakers: only with engine")
    assert tokens(stack) == before


# -- blob metadata, a job's options, the setting ------------------------------------------------------------
def test_blob_metadata_asks_for_fast_and_the_text_and_subtitles_come_out_as_ever(stack, service, three_sentences_wav):
    name = upload(service, three_sentences_wav.read_bytes())
    service.get_container_client("audio-in").get_blob_client(name).set_blob_metadata({"engine": "fast"})
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    written = results(service, name)
    assert json.loads(written[".json"])["engine"] == "fast"
    assert word_error_rate(json.loads(written[".json"])["text"]) <= 0.2
    assert written[".txt"].startswith("[00:00:00] Guest-1: The quick")


def test_a_jobs_options_ask_for_auto_and_get_fast_with_its_reason(stack, three_sentences_wav):
    job = new_upload("call.wav", options={"engine": "auto", "max_speakers": 2})
    assert put_blob(job["upload"]["url"], three_sentences_wav.read_bytes()) == 201
    handle_blob(host_blob_client("audio-in", f"jobs/{job['id']}.wav"))
    answer = api("GET", f"/api/transcriptions/{job['id']}/transcript?format=json")
    transcript = json.loads(answer.get_body())
    assert transcript["engine"] == "fast"
    assert transcript["engine_reason"].startswith("auto: within fast's limits")


@pytest.mark.parametrize("fmt", ["mp3", "ogg-opus", "flac", "webm-opus", "wav-mulaw", "amr-nb"])
def test_each_format_fast_documents_goes_to_fast_as_it_is(stack, format_files, fmt):
    """``auto`` sends each as it is; AMR declares no length, so only ``engine=fast`` sends it (auto cannot tell
    it is under 120 min). 8 kHz AMR gets the emulator's tiny.en a word more wrong: 0.3 for it."""
    response = post_transcription(format_files[fmt].read_bytes(), engine="fast" if fmt.startswith("amr") else "auto")
    assert response.status_code == 200, response.get_body()
    transcript = json.loads(response.get_body())
    assert transcript["engine"] == "fast", transcript["engine_reason"]
    assert word_error_rate(transcript["text"]) <= (0.3 if fmt.startswith("amr") else 0.25), transcript["text"]


def test_speech_engine_auto_sends_an_m4a_to_real_time_and_says_why(stack, service, monkeypatch, format_files):
    monkeypatch.setenv("SPEECH_ENGINE", "auto")
    name = upload(service, format_files["m4a-moov-at-end"].read_bytes(), ".m4a")
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    transcript = json.loads(results(service, name)[".json"])
    assert transcript["engine"] == "realtime"
    assert "fast transcription does not document m4a files" in transcript["engine_reason"]


def test_a_blob_asking_fast_for_a_format_it_does_not_document_is_refused_before_any_token(stack, service, format_files):
    data = format_files["m4a-moov-at-end"].read_bytes()
    name = upload(service, data, ".m4a")
    blob = service.get_container_client("audio-in").get_blob_client(name)
    blob.set_blob_metadata({"engine": "fast"})
    before = tokens(stack)
    assert handle_blob(host_blob_client("audio-in", name)).status == "failed"
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"]) == ("unsupported_audio", False)
    assert record["message"].startswith("engine=fast: fast transcription does not document m4a")
    assert tokens(stack) == before
    assert blob.download_blob().readall() == data


def test_separate_channels_go_to_fast_as_two_named_speakers(stack, service, monkeypatch, call_recording):
    monkeypatch.setenv("CHANNEL_MODE", "separate")
    stereo, timeline = call_recording
    name = upload(service, stereo.read_bytes())
    metadata = {"engine": "fast", "channel_names": "Agent,Customer"}
    service.get_container_client("audio-in").get_blob_client(name).set_blob_metadata(metadata)
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    transcript = json.loads(results(service, name)[".json"])
    assert transcript["engine"] == "fast"
    assert set(transcript["speakers"]) == {"Agent", "Customer"}
    assert transcript["audio"]["channel_mode"] == "separate"


def test_one_token_per_fast_invocation_and_no_pipeline_body_or_credential_survives(
    stack, monkeypatch, three_sentences_wav
):
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.transport import RequestsTransport
    from azure.identity import ManagedIdentityCredential

    from shared.fast.body import MultipartBody

    alive: weakref.WeakSet = weakref.WeakSet()
    made: list[str] = []
    for cls in (Pipeline, RequestsTransport, MultipartBody, ManagedIdentityCredential):

        def spy(self, *args, _original=cls.__init__, **kwargs):
            _original(self, *args, **kwargs)
            alive.add(self)
            made.append(type(self).__name__)

        monkeypatch.setattr(cls, "__init__", spy)
    for invocation in range(3):
        before = tokens(stack)
        response = post_transcription(three_sentences_wav.read_bytes(), engine="fast")
        assert response.status_code == 200, response.get_body()
        assert tokens(stack) == before + 1, invocation
        assert {"Pipeline", "RequestsTransport", "MultipartBody", "ManagedIdentityCredential"} <= set(made)
        assert list(alive) == [], [type(o).__name__ for o in alive]


# -- the HTTP query -----------------------------------------------------------------------------------------
def test_the_http_query_asks_for_fast_and_gets_any_format(stack, three_sentences_wav):
    response = post_transcription(three_sentences_wav.read_bytes(), engine="fast", format="srt")
    assert response.status_code == 200, response.get_body()
    srt = response.get_body().decode()
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "\n[Guest-1] The quick" in srt


def test_auto_over_the_http_query_picks_real_time_for_an_option_only_it_has(stack, three_sentences_wav):
    response = post_transcription(three_sentences_wav.read_bytes(), engine="auto", segmentation_silence_ms="800")
    transcript = json.loads(response.get_body())
    assert transcript["engine"] == "realtime"
    assert transcript["engine_reason"] == "auto: real-time, since segmentation_silence_ms is real-time only"


def test_auto_picks_real_time_for_a_recording_over_fasts_limit(stack, service, monkeypatch):
    """A WAV declaring 130 min (fast takes less than 120): real-time transcribes it and the transcript says why."""
    monkeypatch.setenv("SPEECH_ENGINE", "auto")
    name = upload(service, declared_wav(130 * 60, actual_seconds=2.0))
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    transcript = json.loads(results(service, name)[".json"])
    assert transcript["engine"] == "realtime"
    assert transcript["engine_reason"] == "auto: real-time, since the file declares 130.0 min; fast takes less than 120"


REFUSED = [
    ({"max_speakers": "2"}, 400, "invalid_options", "max_speakers: only with engine=fast, batch or auto"),
    ({"engine": "fast", "phrase_weight": "1"}, 400, "invalid_options", "phrase_weight: real-time only"),
    ({"engine": "fast", "custom_endpoint_id": "m"}, 400, "invalid_options", "custom_endpoint_id: real-time only"),
    ({"engine": "auto", "max_speakers": "2", "segmentation_silence_ms": "800"}, 400, "invalid_options", "needs"),
    ({"engine": "fast", "max_speakers": "1"}, 400, "invalid_options", "max_speakers: a whole number from 2"),
]


@pytest.mark.parametrize(("query", "status", "code", "says"), REFUSED, ids=[str(q) for q, *_ in REFUSED])
def test_every_refused_combination_over_http_fails_before_any_token(
    stack, three_sentences_wav, query, status, code, says
):
    before = tokens(stack)
    response = post_transcription(three_sentences_wav.read_bytes(), **query)
    assert response.status_code == status, response.get_body()
    error = json.loads(response.get_body())["error"]
    assert error["code"] == code
    assert says in error["message"]
    assert tokens(stack) == before


def test_refused_audio_for_fast_or_max_speakers_over_http_fails_before_any_token(stack, format_files):
    """An m4a asked for fast: 415; the same with ``auto`` and ``max_speakers``: only real-time could take it,
    and it has no speaker count, so 400. A job asking for both with real-time is refused at its creation."""
    m4a = format_files["m4a-moov-at-end"].read_bytes()
    before = tokens(stack)
    fast = post_transcription(m4a, engine="fast")
    auto = post_transcription(m4a, engine="auto", max_speakers="3")
    job = api(
        "POST",
        "/api/uploads",
        json.dumps({"options": {"max_speakers": 2}}).encode(),
        {"content-type": "application/json"},
    )
    assert (fast.status_code, json.loads(fast.get_body())["error"]["code"]) == (415, "unsupported_audio")
    assert (auto.status_code, json.loads(auto.get_body())["error"]["code"]) == (400, "invalid_options")
    assert json.loads(auto.get_body())["error"]["message"].startswith("max_speakers: real-time has no speaker count")
    assert (job.status_code, json.loads(job.get_body())["error"]["code"]) == (400, "invalid_options")
    assert tokens(stack) == before
