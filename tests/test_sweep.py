"""The sweep against the real stack: lost events, the host's last delivery, backoff, claims, give-up, expiry.

Each test keeps to a folder of its own (``prefix``), so a sweep sees only that test's recordings, and
passes the sweep a ``now`` in the future instead of waiting for its backoff to pass.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import TranscriptionError
from shared.platform.retry_policy import MAX_DELIVERIES, sweep_delay_seconds
from shared.recordings.door import handle_blob
from shared.recordings.sweep import run_sweep
from shared.settings import Settings
from tests.app_functions import api, new_upload, post_transcription
from tests.blob_io import results, upload
from tests.conftest import host_blob_client
from tests.faults import SPEECH_RESOURCE


@pytest.fixture
def folder() -> str:
    return f"sweep-{uuid.uuid4().hex[:8]}"


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def sweep(folder: str, minutes_later: float):
    return run_sweep(Settings.from_env(), now=later(minutes_later), prefix=f"{folder}/")


def sweep_job(job_id: str, minutes_later: float):
    """A sweep that sees one job's audio only (``jobs/<id>.<ext>``)."""
    return run_sweep(Settings.from_env(), now=later(minutes_later), prefix=f"jobs/{job_id}.")


def test_a_recording_whose_event_never_came_is_transcribed_by_the_next_sweep_but_not_before(
    stack, service, three_sentences_wav, folder, caplog
):
    caplog.set_level(logging.INFO, logger="shared")
    name = upload(service, three_sentences_wav.read_bytes(), folder=folder)  # no delivery: the event is lost
    early = sweep(folder, 1)  # its event may still be on its way: not yet
    assert (early.pending, early.due) == (1, 0)
    assert ".json" not in results(service, name)
    report = sweep(folder, sweep_delay_seconds(0) / 60 + 1)
    assert (report.due, report.outcomes["transcribed"]) == (1, 1)
    assert "quarterly report" in json.loads(results(service, name)[".json"])["text"].lower()
    assert any(r.getMessage().startswith("sweep: 1 pending, 1 due: 1 transcribed") for r in caplog.records)


def test_a_permanent_error_is_not_retried_by_the_sweep(stack, service, folder):
    name = upload(service, b"this is text, not audio", folder=folder)
    assert handle_blob(host_blob_client("audio-in", name)).status == "failed"
    report = sweep(folder, 600)
    assert (report.pending, report.due) == (0, 0)
    assert json.loads(results(service, name)[".error.json"])["code"] == "unsupported_audio"


def test_the_hosts_last_delivery_hands_a_transient_failure_to_the_sweep_which_backs_off(
    stack, service, monkeypatch, three_sentences_wav, folder
):
    name = upload(service, three_sentences_wav.read_bytes(), folder=folder)
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=reject-500")
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", "0.1")
    for _ in range(1, MAX_DELIVERIES):
        with pytest.raises(TranscriptionError):  # the host delivers again at once
            handle_blob(host_blob_client("audio-in", name))
    last = handle_blob(host_blob_client("audio-in", name))  # not raised: the event is never poisoned
    assert last.status == "failed"
    assert last.error.transient
    record = json.loads(results(service, name)[".error.json"])
    assert (record["attempt"], record["deliveries"], record["transient"]) == (MAX_DELIVERIES, MAX_DELIVERIES, True)

    monkeypatch.setenv("SPEECH_ENDPOINT", stack.speech_endpoint)  # the service is back
    wait = sweep_delay_seconds(MAX_DELIVERIES) / 60
    assert sweep(folder, wait - 2).due == 0  # backing off: not in a tight loop
    report = sweep(folder, wait + 1)
    assert report.outcomes["transcribed"] == 1
    found = results(service, name)
    assert ".json" in found
    assert ".error.json" not in found


def test_two_sweeps_at_once_transcribe_a_recording_once(stack, service, three_sentences_wav, folder):
    name = upload(service, three_sentences_wav.read_bytes(), folder=folder)
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    reports, start = [], threading.Barrier(2)

    def one_sweep() -> None:
        start.wait()
        reports.append(sweep(folder, 10))

    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.outcomes["transcribed"] for r in reports) == 1
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) - before == 1  # one session, not two
    assert ".json" in results(service, name)


def test_a_recording_that_keeps_failing_is_given_up_and_its_job_fails(stack, service, monkeypatch):
    job = new_upload("call.wav")
    name = f"jobs/{job['id']}.wav"
    service.get_container_client("audio-in").upload_blob(name, b"\x00")  # its event is lost
    etag = service.get_container_client("audio-in").get_blob_client(name).get_blob_properties().etag
    from shared.errors import ServiceError
    from shared.recordings.results import Tries, record_error

    record_error(
        service.get_container_client("transcripts"),
        f"{name}.error.json",
        ServiceError("the service failed"),
        etag=etag,
        tries=Tries(3, 3, 3),
    )
    monkeypatch.setenv("MAX_ATTEMPTS", "3")
    report = sweep_job(job["id"], 600)
    assert (report.given_up, report.due) == (1, 0)
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"]) == ("retries_exhausted", False)
    failed = json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())
    assert (failed["status"], failed["error"]["code"]) == ("failed", "retries_exhausted")
    assert sweep_job(job["id"], 1200).pending == 0  # given up: nothing retries it in a loop


def test_a_recording_finished_by_the_claims_last_holder_is_not_transcribed_again(
    stack, service, monkeypatch, three_sentences_wav, folder
):
    """The claim keeps two workers apart at one moment; the check after it keeps them apart one after the
    other: a worker that found no transcript, then got the claim just released by one that wrote it."""
    import shared.recordings.door

    name = upload(service, three_sentences_wav.read_bytes(), folder=folder)
    real_claim, raced = shared.recordings.door.claim, []

    def claim_after_another_worker_finished(out, blob_name):
        if not raced:  # the first claim: the other worker runs from start to end just before it
            raced.append("racing")
            raced[0] = handle_blob(host_blob_client("audio-in", name)).status
        return real_claim(out, blob_name)

    monkeypatch.setattr(shared.recordings.door, "claim", claim_after_another_worker_finished)
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    assert handle_blob(host_blob_client("audio-in", name)).status == "skipped"
    assert raced == ["transcribed"]
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) - before == 1  # one session, not two


def test_a_jobs_audio_uploaded_again_after_the_job_ended_is_recorded_once_and_never_pending(
    stack, service, three_sentences_wav
):
    job = new_upload("call.wav")
    name = f"jobs/{job['id']}.wav"
    inputs = service.get_container_client("audio-in")
    inputs.upload_blob(name, three_sentences_wav.read_bytes())
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    first = results(service, name)[".json"]
    inputs.upload_blob(name, three_sentences_wav.read_bytes(), overwrite=True)  # the client's PUT, retried
    assert handle_blob(host_blob_client("audio-in", name)).status == "skipped"
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"]) == ("job_finished", False)
    assert sweep_job(job["id"], 600).pending == 0  # not left for the sweep to try for ever
    assert json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())["status"] == "succeeded"
    assert results(service, name)[".json"] == first  # the job's outcome stands


def test_a_completion_message_whose_send_failed_is_sent_by_the_sweep(stack, service, monkeypatch, three_sentences_wav):
    from azure.storage.queue import TextBase64DecodePolicy

    queue_name = f"late-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("COMPLETION_QUEUE", queue_name)  # not made yet: the send fails
    job = new_upload("call.wav")
    name = f"jobs/{job['id']}.wav"
    service.get_container_client("audio-in").upload_blob(name, three_sentences_wav.read_bytes())
    assert handle_blob(host_blob_client("audio-in", name)).status == "transcribed"
    assert json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())["status"] == "succeeded"
    assert ".error.json" not in results(service, name)  # the transcription did not fail: only its message

    queues = stack.queue_service()
    queues.create_queue(queue_name)
    report = sweep_job(job["id"], 10)
    assert report.completions_sent >= 1
    client = queues.get_queue_client(queue_name, message_decode_policy=TextBase64DecodePolicy())
    messages = [json.loads(m.content) for m in client.peek_messages(max_messages=32)]
    assert [m["status"] for m in messages if m["id"] == job["id"]] == ["succeeded"]
    assert sweep_job(job["id"], 20).completions_sent == 0  # sent once
    queues.close()


def test_a_job_may_not_expire_before_its_upload_url_lapses():
    from shared.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="JOB_QUEUED_TTL_MINUTES must be at least 15"):
        Settings.from_env({"SPEECH_ENDPOINT": "ws://127.0.0.1:1", "JOB_QUEUED_TTL_MINUTES": "5"})


def test_a_job_whose_audio_never_came_expires_and_one_whose_event_was_lost_is_transcribed(
    stack, own_containers, three_sentences_wav
):
    never = new_upload("a.wav")
    lost = json.loads(post_transcription(three_sentences_wav.read_bytes(), {"prefer": "respond-async"}).get_body())
    ttl = Settings.job_queued_ttl_minutes
    first = run_sweep(Settings.from_env(), now=later(ttl - 5))
    assert (first.expired_jobs, first.outcomes["transcribed"]) == (0, 1)  # the lost event's job; none past the TTL
    assert run_sweep(Settings.from_env(), now=later(ttl + 5)).expired_jobs == 1
    expired = json.loads(api("GET", f"/api/transcriptions/{never['id']}").get_body())
    assert expired["status"] == "expired"
    assert expired["error"]["code"] == "expired"
    transcript = api("GET", f"/api/transcriptions/{never['id']}/transcript")
    assert transcript.status_code == 409
    done = json.loads(api("GET", f"/api/transcriptions/{lost['id']}").get_body())
    assert done["status"] == "succeeded"  # its audio was there: transcribed, not expired


def test_the_status_command_counts_recordings_by_state_and_jobs_by_status(
    stack, service, own_containers, three_sentences_wav, capsys
):
    from shared import status
    from shared.errors import ServiceError
    from shared.recordings.results import Tries, record_error

    inputs, outputs = (service.get_container_client(name) for name in own_containers)
    for name, data in (
        ("done.wav", three_sentences_wav.read_bytes()),
        ("bad.wav", b"not audio"),
        ("new.wav", b"RIFF"),
        ("flaky.wav", b"RIFF"),
    ):
        inputs.upload_blob(name, data)
    for name in ("done.wav", "bad.wav"):
        handle_blob(service.get_container_client(own_containers[0]).get_blob_client(name))
    etag = inputs.get_blob_client("flaky.wav").get_blob_properties().etag
    record_error(outputs, "flaky.wav.error.json", ServiceError("blip"), etag=etag, tries=Tries(1, 1, 1))
    api("POST", "/api/uploads", b"", {"content-type": "application/json"})  # a job waiting for its audio

    assert status.main(["--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["recordings"] == {
        "transcribed": 1,
        "submitted": 0,
        "waiting": 1,
        "retrying": 1,
        "failed": 1,
        "refused": 0,
    }
    assert found["jobs"]["queued"] == 1
    assert sum(found["jobs"].values()) == 1
