"""The blob door end to end: Azurite, the real Speech SDK against the emulator, real token fetches.

Each test uploads audio to Azurite's input container and calls ``transcribe_blob`` with the
``BlobClient`` the Functions worker would build, then reads what landed in the output container.
"""

from __future__ import annotations

import json

import pytest

from shared.platform.credentials import SPEECH_SCOPE
from tests import speech_audio
from tests.app_functions import invoke_blob
from tests.blob_io import results, upload, word_error_rate

SPEECH = SPEECH_SCOPE.removesuffix("/.default")  # the resource the identity endpoint counts


def test_a_wav_in_the_input_container_becomes_a_transcript(stack, service, three_sentences_wav):
    name = upload(service, three_sentences_wav.read_bytes())
    before = stack.token_requests().get(SPEECH, 0)

    invoke_blob("audio-in", name)

    found = results(service, name)
    assert ".error.json" not in found
    doc = json.loads(found[".json"])
    error_rate = word_error_rate(doc["text"])
    assert error_rate <= 0.25, (error_rate, doc["text"])
    duration = speech_audio.duration_seconds(three_sentences_wav)
    assert doc["duration_seconds"] == pytest.approx(duration, abs=0.01)
    starts = [s["start"] for s in doc["segments"]]
    assert starts == sorted(starts)
    assert all(0 <= s["start"] < s["end"] <= duration + 0.05 for s in doc["segments"])
    assert doc["source"]["name"] == name
    assert doc["source"]["etag"]
    assert doc["speakers"]
    assert found[".txt"].startswith("[00:00:0")
    assert stack.token_requests().get(SPEECH, 0) - before == 1
    # the audio is left where it was
    assert service.get_container_client("audio-in").get_blob_client(name).exists()


def test_two_voices_come_back_as_two_speakers(service, dialogue_wav):
    name = upload(service, dialogue_wav.read_bytes())
    invoke_blob("audio-in", name)
    doc = json.loads(results(service, name)[".json"])
    assert len(doc["speakers"]) >= 2, doc["segments"]
    assert all(speaker.startswith("Guest-") for speaker in doc["speakers"])


def test_a_redelivered_event_does_not_transcribe_twice(stack, service, three_sentences_wav):
    name = upload(service, three_sentences_wav.read_bytes())
    before = stack.token_requests().get(SPEECH, 0)

    invoke_blob("audio-in", name)
    first = service.get_container_client("transcripts").get_blob_client(name + ".json").get_blob_properties()
    invoke_blob("audio-in", name)
    second = service.get_container_client("transcripts").get_blob_client(name + ".json").get_blob_properties()

    assert stack.token_requests().get(SPEECH, 0) - before == 1
    assert first.etag == second.etag


def test_a_replaced_blob_is_transcribed_again(service, three_sentences_wav, dialogue_wav):
    name = upload(service, three_sentences_wav.read_bytes())
    invoke_blob("audio-in", name)
    service.get_container_client("audio-in").upload_blob(name, dialogue_wav.read_bytes(), overwrite=True)
    invoke_blob("audio-in", name)
    doc = json.loads(results(service, name)[".json"])
    assert "help desk" in doc["text"].lower()


@pytest.mark.parametrize(
    "data",
    [b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk", b"\x00" * 2048, b"ID3\x03" + bytes(range(256)) * 8],
    ids=["corrupt-wav", "zeros", "mp3"],
)
def test_bad_audio_writes_an_error_document_keeps_the_audio_and_is_not_retried(stack, service, data):
    name = upload(service, data)
    before = stack.token_requests().get(SPEECH, 0)

    invoke_blob("audio-in", name)  # returns: no retry

    found = results(service, name)
    assert ".json" not in found
    assert ".txt" not in found
    error = json.loads(found[".error.json"])
    assert error["code"] == "unsupported_audio"
    assert error["attempt"] == 1
    assert error["transient"] is False
    assert service.get_container_client("audio-in").get_blob_client(name).download_blob().readall() == data
    assert stack.token_requests().get(SPEECH, 0) == before  # refused before any token was fetched


def test_a_transient_failure_is_recorded_and_raised_for_the_host_to_retry(
    stack, service, three_sentences_wav, monkeypatch
):
    from shared.errors import ThrottledError

    name = upload(service, three_sentences_wav.read_bytes())
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=reject-429")
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", "1")  # the in-invocation retries: see test_throttling
    for attempt in (1, 2):
        with pytest.raises(ThrottledError):
            invoke_blob("audio-in", name)
        error = json.loads(results(service, name)[".error.json"])
        assert (error["code"], error["attempt"], error["transient"]) == ("throttled", attempt, True)
        assert error["sdk_error_code"] == "TooManyRequests"

    monkeypatch.setenv("SPEECH_ENDPOINT", stack.speech_endpoint)
    invoke_blob("audio-in", name)
    found = results(service, name)
    assert ".json" in found
    assert ".error.json" not in found
