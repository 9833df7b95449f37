"""The fault matrix: every fault an operator can meet, classified right, within its bound, nothing lost.

The README's fault table names a test for each row (``test_the_readme_fault_table_is_backed_by_these_tests``).
Each injects one real fault against the real local stack: the identity endpoint answers 5xx, 429 with a
long ``Retry-After`` or 4xx, trickles or is silent; storage refuses, is silent or goes away mid-read (a TCP
proxy, ``local_stack.proxy``); the Speech endpoint is wrong or closes mid-stream; a setting is not finite.
Each asserts the code and ``transient``, the HTTP status or ``.error.json``, that the input blob is byte
for byte as uploaded, and the bound (``tests.faults.within``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_stack.processes import free_port
from shared.api.jobs import job_store
from shared.errors import TranscriptionError
from shared.jobs.completion import finish_job
from shared.jobs.names import new_job_id
from shared.platform import blob_reader, storage
from shared.settings import Settings
from tests.app_functions import api, post_transcription
from tests.blob_io import upload
from tests.faults import (
    SPEECH_RESOURCE,
    STORAGE_RESOURCE,
    declared_wav,
    deliver,
    error_record,
    fault_table,
    identity_healed,
    intact,
    internals,
    proxied_storage,
    timed,
    unavailable,
    unbacked_rows,
    within,
)

REPO = Path(__file__).resolve().parent.parent
#: Small bounds keep the matrix fast; each case asserts against the value it set.
TOKEN_TIMEOUT, STORAGE_TIMEOUT = 3.0, 4.0


@pytest.fixture(autouse=True)
def _small_bounds(stack, monkeypatch):
    monkeypatch.setenv("TOKEN_TIMEOUT_SECONDS", str(TOKEN_TIMEOUT))
    monkeypatch.setenv("STORAGE_TIMEOUT_SECONDS", str(STORAGE_TIMEOUT))


@pytest.fixture
def storage_proxy(stack, monkeypatch):
    """The app reaches blob storage through a proxy the test can break; the test's own client does not."""
    with proxied_storage(stack, monkeypatch) as proxy:
        yield proxy


# -- the identity endpoint -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["status-500", "retry-after"])  # retry-after: 429 with Retry-After: 600
def test_identity_answering_500_or_429_for_the_speech_token_is_retried(stack, service, three_sentences_wav, mode):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_healed(stack, SPEECH_RESOURCE):
        stack.spoil_tokens(SPEECH_RESOURCE, mode, count=10)
        first = deliver(name)
        http = timed(lambda: post_transcription(data))
    assert isinstance(first.error, TranscriptionError), first.result
    assert (first.error.code, first.error.transient) == ("identity_unavailable", True)  # raised: the host retries
    assert within(first.seconds, TOKEN_TIMEOUT), first.seconds  # a Retry-After past the bound is not waited for
    assert unavailable(http, "identity_unavailable", TOKEN_TIMEOUT), (http.seconds, http.result.get_body())
    record = error_record(service, name)
    assert (record["code"], record["transient"], record["attempt"]) == ("identity_unavailable", True, 1)
    again = deliver(name)  # the host's next delivery, the endpoint healthy again
    assert again.error is None
    assert again.result.status == "transcribed"
    assert error_record(service, name) is None
    assert intact(service, name, data)


@pytest.mark.parametrize("mode", ["status-400", "status-401", "status-403"])
def test_identity_refusing_the_speech_token_is_permanent(stack, service, three_sentences_wav, mode):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_healed(stack, SPEECH_RESOURCE):
        stack.spoil_tokens(SPEECH_RESOURCE, mode, count=10)
        outcome = deliver(name)
    assert outcome.error is None
    assert outcome.result.status == "failed"
    record = error_record(service, name)
    assert (record["code"], record["transient"]) == ("authentication_failed", False)
    assert mode.removeprefix("status-") in record["message"]
    assert intact(service, name, data)


@pytest.mark.parametrize("mode", ["trickle", "silent"])
def test_a_trickling_or_silent_identity_endpoint_ends_within_the_token_timeout(
    stack, service, three_sentences_wav, mode
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_healed(stack, SPEECH_RESOURCE):
        stack.spoil_tokens(SPEECH_RESOURCE, mode, count=10)
        blob = deliver(name)
        http = timed(lambda: post_transcription(data))
    assert (blob.error.code, blob.error.transient) == ("identity_unavailable", True)
    assert within(blob.seconds, TOKEN_TIMEOUT), blob.seconds
    assert error_record(service, name)["code"] == "identity_unavailable"
    assert intact(service, name, data)
    assert unavailable(http, "identity_unavailable", TOKEN_TIMEOUT), http.seconds


@pytest.mark.parametrize("mode", ["refused", "silent"])
def test_identity_down_on_the_storage_side_is_identity_unavailable_within_its_bound(
    stack, service, monkeypatch, three_sentences_wav, mode
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    with identity_healed(stack, STORAGE_RESOURCE):
        if mode == "refused":
            monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{free_port()}/msi/token")
        else:
            stack.spoil_tokens(STORAGE_RESOURCE, "silent", count=10)
        blob = deliver(name)
        uploads = timed(
            lambda: api("POST", "/api/uploads", b'{"filename": "a.wav"}', {"content-type": "application/json"})
        )
    assert (blob.error.code, blob.error.transient) == ("identity_unavailable", True)
    assert within(blob.seconds, TOKEN_TIMEOUT), blob.seconds
    assert unavailable(uploads, "identity_unavailable", TOKEN_TIMEOUT), uploads.seconds
    assert intact(service, name, data)  # nothing could be written, and nothing was lost


# -- storage ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["refuse", "blackhole"])  # blackhole: connections accepted, never answered
def test_storage_down_or_silent_answers_503_fast_on_the_http_async_path(storage_proxy, three_sentences_wav, mode):
    getattr(storage_proxy, mode)()
    storage_proxy.cut()  # and no pooled connection carries on
    response = timed(lambda: post_transcription(three_sentences_wav.read_bytes(), {"prefer": "respond-async"}))
    assert unavailable(response, "storage_error", STORAGE_TIMEOUT), (response.seconds, response.result.get_body())
    with storage.connect(Settings.from_env()) as clients:  # a delete fails as typed, and as fast
        gone = timed(lambda: storage.delete_if_exists(clients.blobs.get_container_client("audio-in"), "a.wav"))
    assert (gone.error.code, gone.error.transient) == ("storage_error", True), gone.error
    assert within(gone.seconds, STORAGE_TIMEOUT), gone.seconds


def test_a_storage_outage_mid_recording_ends_at_once_as_a_storage_error(
    stack, service, storage_proxy, monkeypatch, three_sentences_wav
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    monkeypatch.setattr(blob_reader, "WINDOW_BYTES", 64 * 1024)  # many small reads: one can fail mid-way
    monkeypatch.setenv("SPEECH_IDLE_TIMEOUT_SECONDS", "120")  # so a wait for the service could not pass as one
    fetch = blob_reader.BlobReader._fetch
    fetched = []

    def outage_after_two_reads(self, offset, length):
        if len(fetched) == 2:
            storage_proxy.refuse()
            storage_proxy.cut()
        fetched.append(offset)
        return fetch(self, offset, length)

    monkeypatch.setattr(blob_reader.BlobReader, "_fetch", outage_after_two_reads)
    outcome = deliver(name)
    storage_proxy.restore()
    assert (outcome.error.code, outcome.error.transient) == ("storage_error", True), outcome.error
    assert within(outcome.seconds, STORAGE_TIMEOUT + TOKEN_TIMEOUT), outcome.seconds
    assert intact(service, name, data)


def test_a_request_storage_refuses_is_permanent_not_an_outage(stack):
    with storage.connect(Settings.from_env()) as clients:  # 400 InvalidResourceName: every retry would be refused
        refused = timed(lambda: storage.read_text(clients.blobs.get_container_client("Not_A_Name"), "a.json"))
    assert (refused.error.code, refused.error.transient) == ("storage_refused", False), refused.error
    assert "InvalidResourceName" in refused.error.message, refused.seconds
    assert within(refused.seconds, 1.0), refused.seconds


def test_a_missing_output_container_is_found_before_any_speech_session(
    stack, service, monkeypatch, three_sentences_wav
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    monkeypatch.setenv("OUTPUT_CONTAINER", "no-such-container")
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    outcome = deliver(name)
    assert outcome.error is None
    assert outcome.result.status == "failed"
    assert (outcome.result.error.code, outcome.result.error.transient) == ("configuration_error", False)
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) == before  # no Speech token, so no session
    health = api("GET", "/api/health")
    assert health.status_code == 503
    assert any("OUTPUT_CONTAINER" in problem for problem in json.loads(health.get_body())["problems"])
    assert intact(service, name, data)


def test_a_blob_deleted_mid_read_is_reported_as_deleted_and_its_error_cleared_on_the_retry(
    stack, service, monkeypatch, three_sentences_wav
):
    name = upload(service, three_sentences_wav.read_bytes())
    monkeypatch.setattr(blob_reader, "WINDOW_BYTES", 64 * 1024)
    fetch = blob_reader.BlobReader._fetch

    def delete_after_first_read(self, offset, length):
        if offset > 0:
            service.get_container_client("audio-in").delete_blob(name)
        return fetch(self, offset, length)

    monkeypatch.setattr(blob_reader.BlobReader, "_fetch", delete_after_first_read)
    first = deliver(name)
    assert (first.error.code, first.error.transient) == ("storage_error", True)
    assert "deleted" in first.error.message
    assert "replaced" not in first.error.message
    assert error_record(service, name)["code"] == "storage_error"
    again = deliver(name)  # the host's retry finds the recording gone
    assert again.error is None
    assert again.result.status == "skipped"
    assert error_record(service, name) is None


# -- the Speech endpoint ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/wrong/path", "/stt/speech/universal/v2?fault=reject-404"])
def test_a_speech_endpoint_that_is_not_one_is_a_permanent_configuration_error(
    stack, service, monkeypatch, three_sentences_wav, path
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}{path}")
    outcome = deliver(name)
    assert outcome.error is None
    assert outcome.result.status == "failed"
    record = error_record(service, name)
    assert (record["code"], record["transient"]) == ("configuration_error", False)
    assert "SPEECH_ENDPOINT" in record["message"]
    assert intact(service, name, data)
    assert within(outcome.seconds, 5.0), outcome.seconds


def test_a_normal_close_mid_stream_ends_the_session_without_waiting_for_the_idle_timeout(
    stack, service, monkeypatch, three_sentences_wav
):
    from shared.speech.session import RECONNECT_GRACE_SECONDS

    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    idle = 120.0
    monkeypatch.setenv("SPEECH_IDLE_TIMEOUT_SECONDS", str(idle))
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=close-1000")
    outcome = deliver(name)
    assert (outcome.error.code, outcome.error.transient) == ("service_error", True)
    assert "closed the connection" in outcome.error.message
    assert within(outcome.seconds, 15.0 + RECONNECT_GRACE_SECONDS), outcome.seconds
    assert outcome.seconds < idle, outcome.seconds
    assert intact(service, name, data)


def test_http_errors_carry_no_internal_details(stack, storage_proxy, monkeypatch, three_sentences_wav, caplog):
    data = three_sentences_wav.read_bytes()
    job = json.loads(post_transcription(data, {"prefer": "respond-async"}).get_body())
    monkeypatch.setenv("SPEECH_ENDPOINT", f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=reject-500")
    speech = post_transcription(data)
    storage_proxy.refuse()
    storage_proxy.cut()
    down = post_transcription(data, {"prefer": "respond-async"})
    with job_store(Settings.from_env()) as store:  # the job's audio read while storage is down: the real error
        lost = timed(lambda: storage.read_text(store.audio, f"jobs/{job['id']}.wav")).error
    storage_proxy.restore()
    with job_store(Settings.from_env()) as store:
        finish_job(store, job["id"], error=lost)  # the job fails with it; GET returns its status document
    status = json.loads(api("GET", f"/api/transcriptions/{job['id']}").get_body())
    assert (speech.status_code, down.status_code, status["status"]) == (502, 503, "failed")
    errors = [json.loads(speech.get_body())["error"], json.loads(down.get_body())["error"], status["error"]]
    assert [e["code"] for e in errors] == ["service_error", "storage_error", "storage_error"]
    assert all("details" not in e and not internals(json.dumps(e), storage_proxy.port) for e in errors), errors
    assert str(storage_proxy.port) in lost.details  # the operator's record keeps what the client is not told
    assert any("fault=reject-500" in record.getMessage() for record in caplog.records)  # the log keeps them


# -- settings --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("setting", ["HTTP_MAX_BYTES", "TOKEN_TIMEOUT_SECONDS", "SPEECH_IDLE_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("value", ["nan", "inf", "1e-300"])  # 1e-300: above 0, below any timeout's floor
def test_a_setting_not_finite_or_out_of_range_is_a_configuration_error(
    stack, service, monkeypatch, three_sentences_wav, setting, value
):
    data = three_sentences_wav.read_bytes()
    name = upload(service, data)
    monkeypatch.setenv(setting, value)
    response = post_transcription(data)
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "configuration_error"
    assert setting in error["message"]
    health = api("GET", "/api/health")
    assert health.status_code == 503
    assert setting in json.loads(health.get_body())["problems"][0]
    outcome = deliver(name)
    assert outcome.error is None
    assert outcome.result.status == "failed"
    error = outcome.result.error
    assert (error.code, error.transient, setting in error.message) == ("configuration_error", False, True)
    assert within(outcome.seconds, 1.0)
    assert intact(service, name, data)


# -- the HTTP door ---------------------------------------------------------------------------------------
def test_http_refuses_audio_declaring_more_than_the_limit_before_storing_anything(stack, service, monkeypatch):
    monkeypatch.setenv("MAX_AUDIO_MINUTES", "60")
    jobs_before = {b.name for b in service.get_container_client("audio-in").list_blobs(name_starts_with="jobs/")}
    response = timed(lambda: post_transcription(declared_wav(10 * 3600)))
    assert response.result.status_code == 413
    error = json.loads(response.result.get_body())["error"]
    assert error["code"] == "audio_too_large"
    assert "MAX_AUDIO_MINUTES" in error["message"]
    jobs_after = {b.name for b in service.get_container_client("audio-in").list_blobs(name_starts_with="jobs/")}
    assert jobs_after == jobs_before
    assert within(response.seconds, 1.0)


def test_delete_removes_only_the_jobs_own_blobs_and_an_unknown_job_is_404(stack, service, three_sentences_wav):
    created = post_transcription(three_sentences_wav.read_bytes(), {"prefer": "respond-async"})
    job = json.loads(created.get_body())
    audio_name = f"jobs/{job['id']}.wav"
    assert deliver(audio_name).result.status == "transcribed"
    inputs, outputs = service.get_container_client("audio-in"), service.get_container_client("transcripts")
    neighbours = [
        (inputs, f"jobs/{job['id']}-notes.wav"),
        (inputs, f"jobs/{job['id']}x/keep.txt"),
        (outputs, f"jobs/{job['id']}-notes.wav.json"),
    ]
    for container, name in neighbours:
        container.upload_blob(name, b"someone else's", overwrite=True)
    own = [(inputs, audio_name), (outputs, f"jobs/{job['id']}/status.json")] + [
        (outputs, f"{audio_name}{suffix}") for suffix in (".json", ".txt", ".srt", ".vtt")
    ]
    assert all(container.get_blob_client(name).exists() for container, name in own)  # so the DELETE has work
    assert api("DELETE", f"/api/transcriptions/{job['id']}").status_code == 204
    assert [name for container, name in own if container.get_blob_client(name).exists()] == []
    assert all(container.get_blob_client(name).exists() for container, name in neighbours)

    orphan = new_job_id()  # audio uploaded by hand under a job's name, with no status document
    inputs.upload_blob(f"jobs/{orphan}.wav", three_sentences_wav.read_bytes())
    assert api("DELETE", f"/api/transcriptions/{orphan}").status_code == 404
    assert inputs.get_blob_client(f"jobs/{orphan}.wav").exists()


# -- the operator's command -------------------------------------------------------------------------------
def test_backfill_with_storage_down_prints_one_line_and_exits_2(storage_proxy, capsys):
    from shared import backfill

    storage_proxy.refuse()
    run = timed(lambda: backfill.main(["--dry-run"]))
    assert run.result == 2, run.error
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: storage_error: ")
    assert within(run.seconds, STORAGE_TIMEOUT)


def test_backfill_skips_a_recording_with_a_permanent_error_until_it_is_replaced(stack, service, three_sentences_wav):
    from shared.recordings.pending import pending

    name = upload(service, b"not audio at all")
    assert deliver(name).result.status == "failed"
    prefix = name.rsplit("/", 1)[0] + "/"
    assert name not in pending(Settings.from_env(), prefix)  # trying again would fail the same way
    service.get_container_client("audio-in").upload_blob(name, three_sentences_wav.read_bytes(), overwrite=True)
    assert name in pending(Settings.from_env(), prefix)  # a new version: worth a try


# -- the table -------------------------------------------------------------------------------------------
def test_the_readme_fault_table_is_backed_by_these_tests():
    """Every row names its test, found in the file the row names (this one when it names none)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(fault_table(readme)) >= 15
    assert unbacked_rows(readme, REPO) == []
    elsewhere = "test_the_retries_end_with_their_budget_and_throttling_is_not_counted_as_a_fault"  # not here
    planted = f"<!-- fault-table -->\n| a | `{elsewhere}` |\n| a | none |\n<!-- /fault-table -->"
    assert unbacked_rows(planted, REPO) == [f"tests/test_fault_matrix.py::{elsewhere}", "row 2"]
