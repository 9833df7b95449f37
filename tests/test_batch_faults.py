"""The batch engine's faults, each met for real against the local processes and each ending typed, with the
audio kept: a transcription the service fails for its audio (permanent) or for itself (transient, submitted
again by the sweep), one that never finishes within its time-to-live, one gone from the service, the service
gone while the sweep polls, 429 on the submission, and a recording the service may not read (the role or the
network rule missing). The README's fault table names each test here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from local_stack.processes import free_port
from shared.recordings.door import RETRY, handle_blob
from shared.recordings.sweep import run_sweep
from tests.app_functions import api, post_transcription
from tests.batch_io import drop, emulator, index, on_service, plan_fault, record, submissions, wait_until
from tests.blob_io import results, word_error_rate
from tests.callback_door import CallbackDoor
from tests.conftest import host_blob_client
from tests.faults import error_record, intact
from tests.rest_client import call

#: Past the sweep's first poll of a transcription (10 min), and past its retry of a failed try (5 min).
SWEEP_LATER = timedelta(minutes=11)


@pytest.fixture(scope="module")
def door(stack):
    with CallbackDoor() as serving, stack.webhook(serving.url):
        yield serving


@pytest.fixture(autouse=True)
def _no_fault_left(stack):
    yield
    plan_fault(stack, "failed-transient", count=0)  # clears any planned batch fault


def dropped(service, wav) -> tuple[str, bytes, str]:
    """A recording dropped for batch and submitted: its name, its bytes and its transcription."""
    data = wav.read_bytes()
    name = drop(service, data)
    assert handle_blob(host_blob_client("audio-in", name)).status == "submitted"
    return name, data, record(service, name)["transcription"]


def test_a_batch_transcription_failed_for_its_audio_is_permanent_and_its_job_failed(
    stack, service, door, completions, three_sentences_wav
):
    plan_fault(stack, "failed-permanent")
    job = json.loads(post_transcription(three_sentences_wav.read_bytes(), engine="batch").get_body())
    audio = f"jobs/{job['id']}.wav"
    assert handle_blob(host_blob_client("audio-in", audio)).status == "submitted"
    transcription = record(service, audio)["transcription"]
    failed = wait_until(lambda: error_record(service, audio), 60, "the error record")
    # The callback goes on after the error record (the job, its message); its last step drops the record and
    # deletes the transcription on the service.
    gone = lambda: (record(service, audio), on_service(stack, transcription)) == (None, None)  # noqa: E731
    wait_until(gone, 60, "the record dropped and the transcription deleted")
    assert (failed["code"], failed["transient"], failed["attempt"]) == ("unsupported_audio", False, 1)
    assert failed["sdk_error_code"] == "InvalidData"
    assert intact(service, audio, three_sentences_wav.read_bytes())
    view = json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())
    assert (view["status"], view["error"]["code"]) == ("failed", "unsupported_audio")
    assert [m["id"] for m in completions()] == [job["id"]]


def test_a_batch_transcription_failed_by_the_service_is_submitted_again_by_the_sweep(
    stack, service, door, three_sentences_wav
):
    plan_fault(stack, "failed-transient")
    name, data, first = dropped(service, three_sentences_wav)
    failed = wait_until(lambda: error_record(service, name), 60, "the error record")
    assert (failed["code"], failed["transient"], failed["attempt"], failed["faults"]) == ("service_error", True, 1, 1)
    assert failed["sdk_error_code"] == "InternalServerError"
    assert intact(service, name, data)
    report = run_sweep(now=datetime.now(UTC) + SWEEP_LATER, prefix=name)
    assert report.outcomes["submitted"] == 1, report.line()
    assert record(service, name)["tries"]["attempt"] == 2
    transcript = wait_until(lambda: results(service, name).get(".json"), 60, "the transcript")
    assert word_error_rate(json.loads(transcript)["text"]) <= 0.2
    assert error_record(service, name) is None
    assert on_service(stack, first) is None


def test_a_batch_transcription_not_finished_within_its_time_to_live_is_deleted_and_submitted_again(
    stack, service, door, three_sentences_wav
):
    plan_fault(stack, "stuck")
    name, data, stuck = dropped(service, three_sentences_wav)
    wait_until(lambda: (on_service(stack, stuck) or {}).get("status") == "Running", 30, "Running")
    report = run_sweep(now=datetime.now(UTC) + timedelta(hours=48, minutes=1), prefix=name)
    assert (report.batch.outcomes, report.batch.errors) == ({"failed": 1}, {"speech_timeout": 1}), report.line()
    assert on_service(stack, stuck) is None  # deleted on the service
    assert intact(service, name, data)
    assert report.outcomes["submitted"] == 1, report.line()  # transient: the same run submits it again
    assert error_record(service, name) is None  # its counts go on in the new record
    assert record(service, name)["tries"]["faults"] == 1
    wait_until(lambda: results(service, name).get(".json"), 60, "the transcript")


def test_a_batch_transcription_gone_from_the_service_is_submitted_again(stack, service, door, three_sentences_wav):
    plan_fault(stack, "no-callback")
    name, _, gone = dropped(service, three_sentences_wav)
    found = emulator(stack)
    url = f"{found.base}/speechtotext/transcriptions/{gone}?api-version=2025-10-15"
    assert call("DELETE", url, token=found.token).status == 204
    report = run_sweep(now=datetime.now(UTC) + SWEEP_LATER, prefix=name)
    assert (report.batch.outcomes, report.batch.errors) == ({"failed": 1}, {"service_error": 1}), report.line()
    assert report.outcomes["submitted"] == 1, report.line()
    assert record(service, name)["transcription"] != gone
    wait_until(lambda: results(service, name).get(".json"), 60, "the transcript")


def test_the_service_gone_while_polling_changes_nothing_and_a_later_poll_finishes_it(
    stack, service, door, monkeypatch, three_sentences_wav
):
    plan_fault(stack, "no-callback")
    name, data, transcription = dropped(service, three_sentences_wav)
    wait_until(lambda: (on_service(stack, transcription) or {}).get("status") == "Succeeded", 60, "Succeeded")
    kept = record(service, name)
    with monkeypatch.context() as gone:
        gone.setenv("SPEECH_ENDPOINT", f"ws://127.0.0.1:{free_port()}")  # nothing listens there
        report = run_sweep(now=datetime.now(UTC) + SWEEP_LATER, prefix=name)
    assert (report.batch.outcomes, report.batch.errors) == ({"unanswered": 1}, {"service_error": 1}), report.line()
    assert (record(service, name), error_record(service, name)) == (kept, None)  # nothing changed
    assert intact(service, name, data)
    later = run_sweep(now=datetime.now(UTC) + SWEEP_LATER, prefix=name)
    assert later.batch.outcomes == {"transcribed": 1}, later.line()
    assert ".json" in results(service, name)


def test_429_on_the_submission_is_retried_in_the_invocation_then_transient_with_the_audio_kept(
    stack, service, door, monkeypatch, three_sentences_wav
):
    before = submissions(stack)
    plan_fault(stack, "reject-429", count=2)
    name, _, _ = dropped(service, three_sentences_wav)  # refused twice, then accepted, in one invocation
    assert submissions(stack) == before + 1
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", "2")
    plan_fault(stack, "reject-429", count=None)
    data = three_sentences_wav.read_bytes()
    refused = drop(service, data)
    outcome = handle_blob(host_blob_client("audio-in", refused), via=RETRY)
    assert (outcome.status, outcome.error.code, outcome.error.transient) == ("failed", "throttled", True)
    recorded = error_record(service, refused)
    assert (recorded["code"], recorded["faults"]) == ("throttled", 0)  # a wait for capacity, not a fault
    assert intact(service, refused, data)
    assert record(service, refused) is None
    wait_until(lambda: results(service, name).get(".json"), 60, "the first one's transcript")


def test_a_recording_the_service_may_not_read_fails_transient_naming_the_role_and_the_rule(
    stack, service, own_containers, three_sentences_wav
):
    """The emulator is granted the stack's input containers only, as the Speech resource is granted one
    account: a container it was not granted is refused as the service refuses a URL it may not read."""
    inputs, outputs = own_containers
    with CallbackDoor() as serving, stack.webhook(serving.url):  # the route with this test's own containers
        data = three_sentences_wav.read_bytes()
        name = drop(service, data, container=inputs)
        assert handle_blob(host_blob_client(inputs, name)).status == "submitted"
        blob = service.get_container_client(outputs).get_blob_client(f"{name}.error.json")
        wait_until(blob.exists, 60, "the error record")
    failed = json.loads(blob.download_blob().readall())
    assert (failed["code"], failed["transient"], failed["sdk_error_code"]) == (
        "storage_access_denied",
        True,
        "InaccessibleCustomerStorage",
    )
    assert "Storage Blob Data Reader" in failed["message"]
    assert service.get_container_client(inputs).get_blob_client(name).download_blob().readall() == data
    assert index(service, outputs) == []


def test_a_submission_whose_record_cannot_be_written_is_deleted_again_on_the_service(
    stack, service, three_sentences_wav
):
    """Storage failing right after the submission: the transcription nothing would know of is deleted, and the
    error is the storage's, transient (the sweep submits it again later)."""
    from shared.batch.submit import submit_recording
    from shared.errors import StorageError
    from shared.platform.blob_reader import BlobReader
    from shared.recordings.results import Tries
    from shared.settings import Settings

    name = drop(service, three_sentences_wav.read_bytes())
    blob = host_blob_client("audio-in", name)
    props = blob.get_blob_properties()
    submitted = []

    def keep(submission) -> None:  # the fault, at the storage boundary: the record's write fails
        submitted.append(submission.transcription)
        raise StorageError("writing the record failed (injected)")

    settings = Settings.from_env()
    options = settings.recognition.__class__(**{**settings.recognition.__dict__, "engine": "batch"})
    with pytest.raises(StorageError):
        submit_recording(
            settings,
            BlobReader(blob, etag=props.etag, size=props.size),
            blob.url,
            source={"name": name, "etag": props.etag},
            options=options,
            tries=Tries(1, 1, 0),
            keep=keep,
        )
    (transcription,) = submitted
    assert on_service(stack, transcription) is None
    assert record(service, name) is None
