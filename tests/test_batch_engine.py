"""The batch engine end to end against the real local processes: Azurite, the identity endpoint, and the
emulator's batch API, which reads each recording from Azurite by its plain URL with a token of its own minting
and calls the app's web hook (served from this process, ``tests/callback_door.py``; from inside the Functions
runtime in ``tests/test_runtime.py``).

Held-out read speech (sentences and a voice no other accuracy check reads) dropped with ``engine=batch`` comes
back within the real-time WER bound, through submit, callback and finish, and through the sweep's poll when no
callback comes; a job asked for with ``?engine=batch`` goes queued, running (on batch), succeeded; two callbacks
and a sweep write one set of results and send one completion message; a redelivered event submits nothing; what
goes over the wire carries no SAS and no storage token; the command line does it all for a local file.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from local_stack.proxy import FaultyProxy
from shared.recordings.door import handle_blob
from shared.recordings.sweep import run_sweep
from shared.settings import Settings
from shared.status import status
from tests import speech_audio
from tests.app_functions import api, post_transcription
from tests.batch_io import drop, index, on_service, plan_fault, record, submissions, wait_until
from tests.blob_io import results, word_error_rate
from tests.callback_door import CallbackDoor
from tests.conftest import host_blob_client
from tests.faults import SPEECH_RESOURCE, STORAGE_RESOURCE

REPO = Path(__file__).resolve().parent.parent
#: Sentences the emulator's model was not picked for and no other WER check reads, in a voice none uses.
HELD_OUT = speech_audio.SHORT_SENTENCES[18:24]
HELD_OUT_VOICE = "en-us+m1"
#: Past the sweep's first poll of a transcription no callback finished (``BATCH_POLL_BASE_SECONDS``).
AFTER_FIRST_POLL = timedelta(minutes=11)


@pytest.fixture(scope="module")
def door(stack):
    """The app's web hook route served from this process, registered on the emulator as local_stack does."""
    with CallbackDoor() as serving, stack.webhook(serving.url):
        yield serving


@pytest.fixture(scope="module")
def held_out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch-held-out")
    return speech_audio.spoken(folder, "held-out", [(HELD_OUT_VOICE, text) for text in HELD_OUT])


def transcript_of(service, name: str, timeout: float = 90) -> dict:
    """The recording's ``<name>.json`` once it is there."""
    wait_until(lambda: ".json" in results(service, name), timeout, f"{name}'s transcript")
    return json.loads(results(service, name)[".json"])


def finished_on_service(stack, transcription: str) -> dict:
    return wait_until(
        lambda: (found := on_service(stack, transcription)) and found["status"] in ("Succeeded", "Failed") and found,
        60,
        f"batch transcription {transcription}",
    )


# -- submit, callback, finish ----------------------------------------------------------------------------------
def test_held_out_read_speech_dropped_with_engine_batch_is_submitted_called_back_and_finished(
    stack, service, door, held_out
):
    name = drop(service, held_out.read_bytes())
    assert handle_blob(host_blob_client("audio-in", name)).status == "submitted"
    transcription = record(service, name)["transcription"]
    transcript = transcript_of(service, name)
    wer = word_error_rate(transcript["text"], " ".join(HELD_OUT))
    print(f"held-out read speech through batch (submit, callback, finish): WER {wer:.3f}")
    assert wer <= 0.2, transcript["text"]
    assert (transcript["engine"], transcript["engine_reason"], transcript["options"]["engine"]) == (
        "batch",
        None,
        "batch",
    )
    assert transcript["source"]["etag"].strip('"') == service.get_container_client("audio-in").get_blob_client(
        name
    ).get_blob_properties().etag.strip('"')
    assert results(service, name)[".txt"].startswith("[00:00:00] Guest-1: ")
    wait_until(lambda: record(service, name) is None, 10, "the record dropped")
    assert f"batch-waiting/{transcription}.json" not in index(service)
    assert on_service(stack, transcription) is None  # deleted on the service: results do not linger there
    assert ("TranscriptionCompletion", 200) in door.answers


def test_with_no_callback_the_sweep_polls_it_after_a_while_and_finishes_it(stack, service, door, held_out):
    plan_fault(stack, "no-callback")
    name = drop(service, held_out.read_bytes())
    before = submissions(stack)
    assert handle_blob(host_blob_client("audio-in", name)).status == "submitted"
    transcription = record(service, name)["transcription"]
    finished_on_service(stack, transcription)
    assert handle_blob(host_blob_client("audio-in", name)).status == "skipped"  # a redelivered event
    assert (submissions(stack), record(service, name)["transcription"]) == (before + 1, transcription)
    assert status(Settings.from_env(), prefix=name)["recordings"]["submitted"] == 1
    health = json.loads(api("GET", "/api/health").get_body())
    assert health["batch"]["waiting"] >= 1
    now = datetime.now(UTC)
    early = run_sweep(now=now + timedelta(minutes=5), prefix=name)
    assert (early.pending, ".json" in results(service, name)) == (0, False), early.line()  # not due yet
    report = run_sweep(now=now + AFTER_FIRST_POLL, prefix=name)
    assert report.batch.outcomes.get("transcribed", 0) >= 1, report.line()
    transcript = json.loads(results(service, name)[".json"])
    wer = word_error_rate(transcript["text"], " ".join(HELD_OUT))
    print(f"held-out read speech through batch, no callback, finished by the sweep: WER {wer:.3f}")
    assert wer <= 0.2, transcript["text"]
    assert transcript["engine"] == "batch"
    assert (record(service, name), on_service(stack, transcription)) == (None, None)


# -- jobs, and idempotency -------------------------------------------------------------------------------------
def test_a_job_with_engine_batch_goes_queued_running_succeeded_with_one_completion_message(
    stack,
    door,
    completions,
    three_sentences_wav,
):
    answer = post_transcription(three_sentences_wav.read_bytes(), engine="batch")  # short, but batch: a job
    assert answer.status_code == 202, answer.get_body()
    job = json.loads(answer.get_body())
    assert (job["status"], job["engine"]) == ("queued", None)
    audio = f"jobs/{job['id']}.wav"
    assert handle_blob(host_blob_client("audio-in", audio)).status == "submitted"
    running = json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())
    assert (running["status"], running["engine"]) == ("running", "batch")
    done = wait_until(
        lambda: (
            (body := json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body()))["status"] == "succeeded"
            and body
        ),
        90,
        "the job's success",
    )
    assert done["engine"] == "batch"
    text = api("GET", f"/api/transcriptions/{job['id']}/transcript?format=txt").get_body().decode()
    assert word_error_rate(text.split(": ", 1)[1]) <= 0.2, text
    assert [m["id"] for m in completions()] == [job["id"]]


def test_two_callbacks_and_a_sweep_write_the_results_once_and_send_one_completion_message(
    stack,
    service,
    door,
    completions,
    three_sentences_wav,
):
    from tests.batch_io import completion

    plan_fault(stack, "no-callback")  # the test sends the callbacks itself, two at once
    job = json.loads(post_transcription(three_sentences_wav.read_bytes(), engine="batch").get_body())
    audio = f"jobs/{job['id']}.wav"
    assert handle_blob(host_blob_client("audio-in", audio)).status == "submitted"
    transcription = record(service, audio)["transcription"]
    finished_on_service(stack, transcription)
    answers: list[int] = []

    def callback() -> None:
        body, headers = completion(stack, transcription)
        request = urllib.request.Request(door.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append(response.status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)

    callers = [threading.Thread(target=callback) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    report = run_sweep(now=datetime.now(UTC) + AFTER_FIRST_POLL, prefix=audio)
    assert sorted(answers)[0] == 200, answers  # one finished it; the other found it taken (202) or done (404)
    assert sorted(answers)[1] in (202, 404), answers
    assert report.batch.outcomes.get("transcribed", 0) == 0, report.line()
    out = service.get_container_client("transcripts")
    for suffix in (".json", ".txt", ".srt", ".vtt"):
        written = out.get_blob_client(audio + suffix).get_blob_properties()
        assert written.last_modified == written.creation_time, f"{suffix} was written more than once"
    assert [m["id"] for m in completions()] == [job["id"]]
    assert (record(service, audio), on_service(stack, transcription)) == (None, None)


# -- what the service is given ---------------------------------------------------------------------------------
def test_the_submission_carries_a_plain_url_and_the_emulator_reads_it_with_its_own_identity(
    stack, service, door, monkeypatch, three_sentences_wav
):
    """Over the wire (a capturing proxy in front of the emulator): a plain URL, no SAS, no storage token; and
    while the emulator reads the blob, the app's identity endpoint hands out no storage token."""
    port = int(stack.speech_endpoint.rsplit(":", 1)[1])
    with FaultyProxy(("127.0.0.1", port), capture=True) as proxy:
        monkeypatch.setenv("SPEECH_ENDPOINT", f"ws://127.0.0.1:{proxy.port}")
        plan_fault(stack, "no-callback")
        name = drop(service, three_sentences_wav.read_bytes())
        assert handle_blob(host_blob_client("audio-in", name)).status == "submitted"
        storage_tokens = stack.token_requests().get(STORAGE_RESOURCE, 0)
        transcription = record(service, name)["transcription"]
        assert finished_on_service(stack, transcription)["status"] == "Succeeded"  # read with its own token
        assert stack.token_requests().get(STORAGE_RESOURCE, 0) == storage_tokens
        head, body = _request(bytes(proxy.sent), b"POST /speechtotext/transcriptions:submit")
        report = run_sweep(now=datetime.now(UTC) + AFTER_FIRST_POLL, prefix=name)
    assert report.batch.outcomes.get("transcribed", 0) >= 1, report.line()
    sent = json.loads(body)
    assert sent["contentUrls"] == [f"{stack.storage.blob}/audio-in/{quote(name)}"]
    assert "?" not in sent["contentUrls"][0]
    assert "destinationContainerUrl" not in sent["properties"]
    for secret in (b"sig=", b"sv=", b"SharedAccessSignature", b"AccountKey", b"eyJ"):  # eyJ: a JWT
        assert secret not in body, secret
    (authorization,) = [line for line in head.split(b"\r\n") if line.lower().startswith(b"authorization:")]
    claims = json.loads(base64.urlsafe_b64decode(authorization.split(b".")[1] + b"=="))
    assert claims["aud"].rstrip("/") == SPEECH_RESOURCE  # the app's Speech token, for the API itself


def _request(sent: bytes, start: bytes) -> tuple[bytes, bytes]:
    """The head and body of the first request in ``sent`` that starts with ``start``."""
    at = sent.index(start)
    head, rest = sent[at:].split(b"\r\n\r\n", 1)
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split()[1])
    return head, rest[:length]


def test_the_command_line_sends_a_local_file_through_batch(stack, door, held_out):
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    run = subprocess.run(
        [sys.executable, "-m", "shared.transcribe", str(held_out), "--engine", "batch", "--format", "json", "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    transcript = json.loads(run.stdout)
    assert transcript["engine"] == "batch"
    assert word_error_rate(transcript["text"], " ".join(HELD_OUT)) <= 0.2, transcript["text"]
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) > before
    refused = subprocess.run(
        [sys.executable, "-m", "shared.transcribe", str(held_out), "--engine", "batch", "--phrases", "Contoso"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "error: invalid_options: phrases: batch transcription has none" in refused.stderr


def test_what_batch_cannot_take_is_refused_at_every_door_before_any_token(stack, service, call_recording):
    stereo, _ = call_recording
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    mixed = post_transcription(stereo.read_bytes(), engine="batch")
    listed = post_transcription(stereo.read_bytes(), engine="batch", phrases="Contoso")
    assert (mixed.status_code, json.loads(mixed.get_body())["error"]["code"]) == (400, "invalid_options")
    assert "does not mix channels" in json.loads(mixed.get_body())["error"]["message"]
    assert listed.status_code == 400
    name = drop(service, stereo.read_bytes())
    outcome = handle_blob(host_blob_client("audio-in", name))
    assert (outcome.status, outcome.error.code, outcome.error.transient) == ("failed", "invalid_options", False)
    assert json.loads(results(service, name)[".error.json"])["code"] == "invalid_options"
    assert record(service, name) is None
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
