"""A deleted job stays deleted: its upload URL, still valid after the DELETE, cannot bring it back.

The audio of a job that no longer exists (deleted, or never made) or that expired before its audio came
is removed when it arrives and never transcribed: nothing of it is kept, no Speech token is spent, and
one log line says why. These run against the real stack: the upload is a plain HTTPS PUT to the SAS URL.
"""

from __future__ import annotations

import json
import logging

import pytest

from shared.jobs.completion import expire_job
from shared.settings import Settings
from tests.app_functions import api, new_upload
from tests.faults import SPEECH_RESOURCE, deliver
from tests.test_jobs_api import put_blob


def job_blobs(service, job_id: str) -> list[str]:
    """Every blob of the job left in either container (its audio, results, error record, status)."""
    return [
        f"{container}/{blob.name}"
        for container in ("audio-in", "transcripts")
        for blob in service.get_container_client(container).list_blobs(name_starts_with=f"jobs/{job_id}")
    ]


def test_audio_uploaded_after_its_job_was_deleted_is_removed_and_never_transcribed(
    stack, service, three_sentences_wav, caplog
):
    caplog.set_level(logging.INFO, logger="shared")
    upload = new_upload("meeting.wav")
    assert api("DELETE", f"/api/transcriptions/{upload['id']}").status_code == 204
    assert put_blob(upload["upload"]["url"], three_sentences_wav.read_bytes()) == 201  # the URL still works
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    outcome = deliver(f"jobs/{upload['id']}.wav")
    assert outcome.error is None, outcome.error
    assert outcome.result.status == "removed", outcome.error
    assert job_blobs(service, upload["id"]) == []  # no audio, no transcript, no error record
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before  # nothing was sent to Speech
    assert api("GET", f"/api/transcriptions/{upload['id']}").status_code == 404
    assert any("no status document" in r.getMessage() and "removed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("when", ["after", "racing"])
def test_audio_that_comes_after_its_job_expired_is_removed_and_the_job_stays_expired(
    stack, service, monkeypatch, three_sentences_wav, when
):
    """``racing``: the upload lands between the sweep's look for the audio and its expiry of the job."""
    from shared.jobs import expiry

    upload = new_upload("meeting.wav")
    name = f"jobs/{upload['id']}.wav"
    ttl = Settings.from_env().job_queued_ttl_minutes
    with expiry_store() as store:
        if when == "after":
            assert expire_job(store, upload["id"], ttl).won
            assert put_blob(upload["upload"]["url"], three_sentences_wav.read_bytes()) == 201
        else:
            real = expiry.audio_arrived

            def upload_just_after_the_look(store_, job):
                seen = real(store_, job)
                put_blob(upload["upload"]["url"], three_sentences_wav.read_bytes())
                return seen

            monkeypatch.setattr(expiry, "audio_arrived", upload_just_after_the_look)
            from datetime import UTC, datetime, timedelta

            assert upload["id"] in expiry.expire_stale_jobs(
                store, ttl, now=datetime.now(UTC) + timedelta(minutes=ttl + 1)
            )
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    outcome = deliver(name)
    assert outcome.error is None, outcome.error
    assert outcome.result.status == "removed", outcome.error
    assert not service.get_container_client("audio-in").get_blob_client(name).exists()
    assert job_blobs(service, upload["id"]) == [f"transcripts/jobs/{upload['id']}/status.json"]
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before
    job = api("GET", f"/api/transcriptions/{upload['id']}")
    assert job.status_code == 200
    assert json.loads(job.get_body())["status"] == "expired"


def expiry_store():
    from shared.api.jobs import job_store

    return job_store(Settings.from_env())


def test_an_upload_request_that_fails_after_its_url_was_made_leaves_nothing_and_the_url_brings_nothing(
    stack, service, monkeypatch, three_sentences_wav
):
    """The job is made, then its URL, then the request fails (here: as if the answer were lost): the job is
    removed again, and audio PUT to the URL it never answered is removed on arrival."""
    from shared.errors import StorageError
    from shared.platform import storage

    made = []

    def url_then_failure(*args, **kwargs):
        made.append(real(*args, **kwargs)[0])
        raise StorageError("the answer was lost")

    real = storage.upload_url
    monkeypatch.setattr(storage, "upload_url", url_then_failure)
    response = api("POST", "/api/uploads", b'{"filename": "a.wav"}', {"content-type": "application/json"})
    monkeypatch.undo()
    assert response.status_code == 503
    assert len(made) == 1
    job_id = made[0].split("/jobs/")[1].split(".")[0]
    assert job_blobs(service, job_id) == []  # no queued job left that no one knows the id of
    assert put_blob(made[0], three_sentences_wav.read_bytes()) == 201
    assert deliver(f"jobs/{job_id}.wav").result.status == "removed"
    assert job_blobs(service, job_id) == []


def test_audio_stored_by_a_request_that_failed_anyway_is_not_kept_with_a_job_no_one_knows(
    stack, service, monkeypatch, three_sentences_wav
):
    """``POST /api/transcriptions`` stores the audio and then the answer fails (storage reached, the reply
    lost): the client gets 503 and no id, so the job and its audio go."""
    from azure.core.exceptions import ServiceResponseError
    from azure.storage.blob import ContainerClient

    stored = []
    real = ContainerClient.upload_blob

    def stored_then_lost(self, name, *args, **kwargs):
        result = real(self, name, *args, **kwargs)
        if name.startswith("jobs/"):
            stored.append(name)
            raise ServiceResponseError("the connection dropped before the answer")
        return result

    monkeypatch.setattr(ContainerClient, "upload_blob", stored_then_lost)
    response = api(
        "POST",
        "/api/transcriptions",
        three_sentences_wav.read_bytes(),
        {"content-type": "audio/wav", "prefer": "respond-async"},
    )
    monkeypatch.undo()
    assert response.status_code == 503
    assert len(stored) == 1
    assert job_blobs(service, stored[0].split("/")[1].split(".")[0]) == []
