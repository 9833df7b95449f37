"""Results can never be mistaken for another recording's: names that would collide are refused.

Results live beside the recording's name in the output container (``<name>.json``, ``<name>.error.json``,
``<name>.lock``) next to the jobs' status documents (``jobs/<id>/status.json``). A recording whose results
would share a name with another's (``x.wav.error`` beside ``x.wav``), with a status document
(``jobs/<id>/status``), or would be too long to name (``shared.recordings.input_names``) is refused: a permanent
``name_refused`` record, no token, no transcript, and neither the sweep nor anything else counts it as due.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.jobs.names import audio_extension, new_job_id
from shared.recordings.door import handle_blob
from shared.recordings.input_names import MAX_NAME_CHARS, refusal
from shared.recordings.sweep import run_sweep
from shared.settings import Settings
from tests.app_functions import new_upload
from tests.faults import SPEECH_RESOURCE, deliver, error_record


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "name",
    [
        "x.wav.error",
        "calls/a.error",
        "x.wav.batch",
        f"jobs/{new_job_id()}/status",
        f"batch-waiting/{uuid.uuid4()}",
        "a" * (MAX_NAME_CHARS - len(".error.json") + 1),
    ],
)
def test_a_name_whose_results_could_be_anothers_is_refused_saying_why(name):
    assert refusal(name)


@pytest.mark.parametrize(
    "name",
    [
        "x.wav",
        "x.error.wav",
        "jobs/2024/status.wav",
        "errors/a.wav",
        "batch/calls.wav",
        f"batch/{uuid.uuid4()}.wav",
        f"jobs/{new_job_id()}.wav",
        "a" * (MAX_NAME_CHARS - len(".error.json")),
    ],
)
def test_an_ordinary_name_is_not_refused(name):
    assert refusal(name) is None


def test_a_job_never_gets_a_refused_audio_name():
    assert audio_extension("error") == "bin"
    assert audio_extension("wav") == "wav"


def test_the_input_and_output_containers_must_differ():
    from shared.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="INPUT_CONTAINER and OUTPUT_CONTAINER"):
        Settings.from_env(
            {"SPEECH_ENDPOINT": "ws://127.0.0.1:1", "INPUT_CONTAINER": "same", "OUTPUT_CONTAINER": "same"}
        )


def test_a_recording_named_like_another_recordings_error_record_is_refused_not_skipped_for_ever(
    stack, service, three_sentences_wav
):
    folder = f"names-{uuid.uuid4().hex[:8]}"
    inputs = service.get_container_client("audio-in")
    failed = f"{folder}/x.wav"
    inputs.upload_blob(failed, b"this is text, not a recording")
    assert deliver(failed).result.status == "failed"  # x.wav.error.json: its unsupported_audio record
    colliding = f"{failed}.error"  # its transcript would be x.wav.error.json: x.wav's error record
    inputs.upload_blob(colliding, three_sentences_wav.read_bytes())
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    outcome = deliver(colliding)
    assert outcome.error is None, outcome.result
    assert outcome.result.status == "failed", outcome.result
    assert outcome.result.error.code == "name_refused"
    record = error_record(service, colliding)
    assert (record["code"], record["transient"]) == ("name_refused", False)
    assert ".error" in record["message"]
    assert error_record(service, failed)["code"] == "unsupported_audio"  # the neighbour's record is its own
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
    for minutes in (600, 1200):  # run after run: nothing due, nothing skipped
        report = run_sweep(Settings.from_env(), now=later(minutes), prefix=f"{folder}/")
        assert (report.pending, report.due, report.outcomes["skipped"]) == (0, 0, 0), report.line()


def test_a_sweep_over_every_reserved_or_colliding_name_counts_none_as_due(
    stack, service, own_containers, three_sentences_wav, capsys
):
    from shared import status

    inputs = service.get_container_client(own_containers[0])
    audio = three_sentences_wav.read_bytes()
    inputs.upload_blob("x.wav", b"not audio")
    assert handle_blob(inputs.get_blob_client("x.wav")).status == "failed"  # a failed neighbour, before the sweep
    job = new_upload("a.wav")  # its status document is jobs/<id>/status.json in the output container
    long_name = "long/" + "a" * (MAX_NAME_CHARS - 5)
    refused = [
        "x.wav.error",
        "y.error",
        "x.wav.error.error",
        f"jobs/{job['id']}/status",
        f"jobs/{new_job_id()}/status",
        f"jobs/{new_job_id()}.error",
        long_name,
    ]
    for name in refused:  # their events are lost: only the sweep can find them
        inputs.upload_blob(name, audio)
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    first = run_sweep(Settings.from_env(), now=later(600))
    assert (first.pending, first.due, first.refused) == (0, 0, len(refused) - 1), first.line()  # the long one
    second = run_sweep(Settings.from_env(), now=later(1200))  # has no room for a record: the door logs it
    assert (second.pending, second.due, second.refused) == (0, 0, 0), second.line()  # reported once
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
    outputs = service.get_container_client(own_containers[1])
    for name in refused[:-1]:
        record = json.loads(outputs.get_blob_client(f"{name}.error.json").download_blob().readall())
        assert (record["code"], record["transient"]) == ("name_refused", False), name
    job_status = json.loads(outputs.download_blob(f"jobs/{job['id']}/status.json").readall())
    assert (job_status["id"], job_status["status"]) == (job["id"], "expired")  # a job's, expired by the sweep
    assert status.main(["--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["recordings"]["refused"] == len(refused)
    assert found["recordings"]["failed"] == 1
    assert sorted(found["refused"]) == sorted(refused)  # the names themselves, for the operator to rename
