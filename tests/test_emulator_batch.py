"""Batch transcription and web hooks on the speech emulator, reading audio from Azurite with its own identity.

The emulator here plays the Speech resource with a system-assigned identity: it is granted the input
container (``--batch-readable``), reads recordings by their plain blob URL with a Storage token it mints
itself, and calls a web hook receiver run by the test, which checks the challenge and the HMAC signature.
Azurite and the signing secret come from the stack (``stack`` fixture).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from speech_emulator.auth import AUDIENCE
from speech_emulator.process import start_emulator
from tests import speech_audio
from tests.blob_io import word_error_rate
from tests.rest_client import SUBMIT_PATH, WEBHOOKS_PATH, Answer, Receiver, call, call_json, http_url

VERSION = "2024-11-15"
SECRET = "web-hook-secret-" + uuid.uuid4().hex
TERMINAL = ("Succeeded", "Failed")


@pytest.fixture(scope="module")
def batch(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """An emulator granted the stack's input container, a receiver, and a web hook registered on it."""
    folder = tmp_path_factory.mktemp("batch")
    inputs = f"{stack.storage.blob}/{stack.env['INPUT_CONTAINER']}"
    env = {k: stack.env[k] for k in ("LOCAL_IDENTITY_SECRET", "REQUESTS_CA_BUNDLE")}
    args = ("--require-token", "--batch-delay", "0.3", "--batch-readable", inputs)
    with (
        Receiver() as receiver,
        start_emulator(extra_args=args, env=env, log_path=folder / "emulator.log") as (url, _process),
    ):
        base = http_url(url)
        token = stack.operator_credential().get_token(f"{AUDIENCE}/.default").token
        hook = {"displayName": "completions", "webUrl": receiver.url, "events": {"transcriptionCompletion": True}}
        registered = call_json(
            "POST",
            f"{base}{WEBHOOKS_PATH}?api-version=2025-10-15",
            hook | {"properties": {"secret": SECRET}},
            token=token,
        )
        yield SimpleNamespace(
            base=base,
            token=token,
            inputs=inputs,
            receiver=receiver,
            registered=registered,
            log=folder / "emulator.log",
            folder=folder,
        )


@pytest.fixture(scope="module")
def recordings(batch: SimpleNamespace, service: Any) -> SimpleNamespace:
    """The three sentences and the dialogue in the input container, one elsewhere: plain URLs, no SAS."""
    three = speech_audio.three_sentences(batch.folder / "three.wav")
    dialogue = speech_audio.dialogue(batch.folder / "dialogue.wav")
    names = {}
    for container, key, path in (
        ("audio-in", "three", three),
        ("audio-in", "dialogue", dialogue),
        ("transcripts", "elsewhere", three),
    ):
        name = f"batch-test/{uuid.uuid4().hex[:8]}.wav"
        service.get_container_client(container).upload_blob(name, path.read_bytes())
        names[key] = f"{batch.inputs.rsplit('/', 1)[0]}/{container}/{name}"
    return SimpleNamespace(**names)


def submit(batch: SimpleNamespace, urls: list[str], *, query: str = "", token: Any = "batch", **properties) -> Answer:
    body = {
        "contentUrls": urls,
        "locale": "en-US",
        "displayName": "emulator test",
        "properties": {"timeToLiveHours": 6, **properties},
    }
    token = batch.token if token == "batch" else token
    return call_json("POST", f"{batch.base}{SUBMIT_PATH}?api-version={VERSION}{query}", body, token=token)


def finished(batch: SimpleNamespace, self_url: str, timeout: float = 30.0) -> dict[str, Any]:
    """The transcription once it is Succeeded or Failed (polled, as the product's sweep does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entity = call("GET", self_url, token=batch.token).json()
        if entity["status"] in TERMINAL:
            return entity
        time.sleep(0.2)
    raise AssertionError(f"{self_url} not finished within {timeout:g} s")


def files(batch: SimpleNamespace, entity: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The transcription's files by kind, each with its content read from ``contentUrl`` (no token)."""
    listed = call("GET", entity["links"]["files"], token=batch.token).json()["values"]
    return {f["kind"]: f | {"content": call("GET", f["links"]["contentUrl"]).json()} for f in listed}


def test_web_hook_registered_after_its_challenge(batch: SimpleNamespace) -> None:
    assert batch.registered.status == 201, batch.registered.body
    assert batch.receiver.challenges == 1
    entity = batch.registered.json()
    assert entity["status"] == "Succeeded"
    assert "secret" not in entity["properties"]
    assert batch.registered.headers["Location"] == entity["self"]


def test_plain_blob_url_transcribed_and_signed_completion(batch: SimpleNamespace, recordings, stack) -> None:
    storage_tokens = stack.token_requests().get("https://storage.azure.com", 0)
    answer = submit(batch, [recordings.three], wordLevelTimestampsEnabled=True)
    assert answer.status == 201, answer.body
    created = answer.json()
    assert created["status"] == "NotStarted"
    assert "contentUrls" not in created
    assert answer.headers["Location"] == created["self"]

    callback = batch.receiver.wait_for(created["self"], timeout=30)
    assert callback is not None, batch.log.read_text()[-2000:]
    headers, body = callback
    assert headers["X-MicrosoftSpeechServices-Event"] == "TranscriptionCompletion"
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(headers["X-MicrosoftSpeechServices-Signature"], expected)
    assert json.loads(body)["invocationId"]

    entity = finished(batch, created["self"])
    assert entity["status"] == "Succeeded", entity
    assert abs(entity["properties"]["durationMilliseconds"] - 12_800) < 300
    by_kind = files(batch, entity)
    assert set(by_kind) == {"Transcription", "TranscriptionReport"}
    result = by_kind["Transcription"]["content"]
    assert result["source"] == recordings.three
    assert word_error_rate(result["combinedRecognizedPhrases"][0]["display"]) <= 0.2
    for phrase in result["recognizedPhrases"]:
        best = phrase["nBest"][0]
        assert phrase["recognitionStatus"] == "Success"
        assert phrase["channel"] == 0
        assert "speaker" not in phrase
        assert best["words"]
        assert " ".join(w["word"] for w in best["words"]) == best["lexical"]
        assert phrase["offsetInTicks"] == phrase["offsetMilliseconds"] * 10_000
    assert by_kind["TranscriptionReport"]["content"]["successfulTranscriptionsCount"] == 1
    assert stack.token_requests().get("https://storage.azure.com", 0) == storage_tokens  # its own identity

    forged = by_kind["Transcription"]["links"]["contentUrl"].rsplit("=", 1)[0] + "=forged"
    assert call("GET", forged).status == 403
    assert call("DELETE", created["self"], token=batch.token).status == 204
    assert call("GET", created["self"], token=batch.token).status == 404


def test_dialogue_with_max_speakers_two(batch: SimpleNamespace, recordings: SimpleNamespace) -> None:
    answer = submit(batch, [recordings.dialogue], diarization={"enabled": True, "maxSpeakers": 2})
    entity = finished(batch, answer.json()["self"])

    phrases = files(batch, entity)["Transcription"]["content"]["recognizedPhrases"]
    assert [p["speaker"] for p in phrases] == [1, 2, 1, 2]
    assert "words" not in phrases[0]["nBest"][0]  # not asked for


@pytest.mark.parametrize("where", ["elsewhere", "traversal"])
def test_url_outside_the_grant_fails(batch: SimpleNamespace, recordings: SimpleNamespace, where: str) -> None:
    url = recordings.elsewhere if where == "elsewhere" else batch.inputs + "/../transcripts/x.wav"
    entity = finished(batch, submit(batch, [url]).json()["self"])

    assert entity["status"] == "Failed"
    assert entity["properties"]["error"] == {
        "code": "InaccessibleCustomerStorage",
        "message": "Authentication failed for recordings URI.",
    }
    report = files(batch, entity)["TranscriptionReport"]["content"]
    assert report["failedTranscriptionsCount"] == 1
    assert report["details"][0]["status"] == "Failed"
    assert batch.receiver.wait_for(entity["self"], timeout=10) is not None  # failure completes too


@pytest.mark.parametrize(
    ("fault", "code"), [("failed-transient", "InternalServerError"), ("failed-permanent", "InvalidData")]
)
def test_failed_faults(batch: SimpleNamespace, recordings: SimpleNamespace, fault: str, code: str) -> None:
    entity = finished(batch, submit(batch, [recordings.three], query=f"&fault={fault}").json()["self"])

    assert entity["status"] == "Failed"
    assert entity["properties"]["error"]["code"] == code


def test_no_callback_fault(batch: SimpleNamespace, recordings: SimpleNamespace) -> None:
    entity = finished(batch, submit(batch, [recordings.three], query="&fault=no-callback").json()["self"])

    assert entity["status"] == "Succeeded"
    assert batch.receiver.wait_for(entity["self"], timeout=2) is None


def test_stuck_fault_stays_running_until_deleted(batch: SimpleNamespace, recordings: SimpleNamespace) -> None:
    self_url = submit(batch, [recordings.three], query="&fault=stuck").json()["self"]
    time.sleep(1.0)

    assert call("GET", self_url, token=batch.token).json()["status"] == "Running"
    assert call("DELETE", self_url, token=batch.token).status == 204


def test_submit_refusals(batch: SimpleNamespace, recordings: SimpleNamespace) -> None:
    throttled = submit(batch, [recordings.three], query="&fault=reject-429")
    planned = call_json("POST", f"{batch.base}/emulator/faults", {"api": "batch", "fault": "reject-503", "count": 1})
    unavailable, accepted = (submit(batch, [recordings.three]) for _ in range(2))
    anonymous = submit(batch, [recordings.three], token=None)

    assert (throttled.status, throttled.headers["Retry-After"], throttled.json()["error"]["code"]) == (429, "1", "429")
    assert planned.status == 200
    assert unavailable.status == 503
    assert accepted.status == 201
    assert anonymous.status == 401
    call("DELETE", accepted.json()["self"], token=batch.token)


@pytest.mark.parametrize(
    ("properties", "inner"),
    [
        ({"timeToLiveHours": 2}, "InvalidTimeToLive"),
        ({"diarization": {"maxSpeakers": 40}}, "InvalidParameterValue"),
        ({"languageIdentification": {"candidateLocales": ["en-US"]}}, "InvalidLocale"),
        ({"channels": [0, 0]}, "InvalidChannels"),
    ],
)
def test_bad_submission_is_400(batch: SimpleNamespace, recordings, properties: dict, inner: str) -> None:
    answer = submit(batch, [recordings.three], **properties)

    assert answer.status == 400
    assert answer.json()["code"] == "InvalidRequest"
    assert answer.json()["innerError"]["code"] == inner


def test_web_hook_that_does_not_echo_the_token_is_refused(batch: SimpleNamespace) -> None:
    hook = {"displayName": "bad", "events": {"transcriptionCompletion": True}}
    with Receiver(echo_challenge=False) as wrong:
        refused = call_json(
            "POST",
            f"{batch.base}{WEBHOOKS_PATH}?api-version=2025-10-15",
            hook | {"webUrl": wrong.url},
            token=batch.token,
        )
        challenged = wrong.challenges
    unreachable = call_json(
        "POST",
        f"{batch.base}{WEBHOOKS_PATH}?api-version=2025-10-15",
        hook | {"webUrl": "http://127.0.0.1:9/hook"},
        token=batch.token,
    )

    assert challenged == 1
    for answer in (refused, unreachable):
        assert answer.status == 400
        assert answer.json()["innerError"]["code"] == "InvalidCallbackUri"
    listed = call("GET", f"{batch.base}{WEBHOOKS_PATH}?api-version=2025-10-15", token=batch.token).json()["values"]
    assert [h["displayName"] for h in listed] == ["completions"]
