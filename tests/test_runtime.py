"""The runtime lane: the app inside Microsoft's Functions runtime (``azure-functions-runtime``, its own worker
process), driven by the host stand-in in ``local_stack.functions_host`` over real HTTP, Event Grid blob events
and the timer. It proves the wiring the direct-call tests cannot: indexing and parameter validation, the
metadata the host reads, the HTTP conversion, the SDK-type blob binding built from ``ModelBindingData``, the
timer payload, context injection, and the host's redelivery around a failed invocation.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from local_stack.functions_host import FunctionsHost
from local_stack.functions_host.blob_trigger import POISON_QUEUE
from local_stack.processes import free_port
from shared.platform.retry_policy import MAX_DELIVERIES
from shared.settings import INPUT_CONTAINER, OUTPUT_CONTAINER, STORAGE_CONNECTION, SWEEP_SCHEDULE
from tests import speech_audio
from tests.app_functions import over_http
from tests.blob_io import word_error_rate
from tests.conftest import RUNTIME_CONTAINERS
from tests.test_jobs_api import put_blob

HTTP_OUT = {"direction": "OUT", "type": "http", "name": "$return"}


def http_trigger(route: str, method: str, auth: str = "FUNCTION") -> dict:
    return {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": [method],
        "authLevel": auth,
        "route": route,
    }


#: Every function's bindings exactly as the runtime reports them to the host (raw bindings, parsed).
INDEXED = {
    "transcribe_blob": [
        {
            "direction": "IN",
            "type": "blobTrigger",
            "name": "client",
            "path": f"%{INPUT_CONTAINER}%/{{name}}",
            "connection": STORAGE_CONNECTION,
            "source": "EventGrid",
            "properties": {"SupportsDeferredBinding": True},
        }
    ],
    "sweep": [
        {
            "direction": "IN",
            "type": "timerTrigger",
            "name": "timer",
            "schedule": f"%{SWEEP_SCHEDULE}%",
            "runOnStartup": False,
            "useMonitor": True,
        }
    ],
    "create_transcription": [http_trigger("transcriptions", "POST"), HTTP_OUT],
    "list_transcriptions": [http_trigger("transcriptions", "GET"), HTTP_OUT],
    "get_transcription": [http_trigger("transcriptions/{id}", "GET"), HTTP_OUT],
    "delete_transcription": [http_trigger("transcriptions/{id}", "DELETE"), HTTP_OUT],
    "get_transcript": [http_trigger("transcriptions/{id}/transcript", "GET"), HTTP_OUT],
    "create_upload": [http_trigger("uploads", "POST"), HTTP_OUT],
    "openapi": [http_trigger("openapi.yaml", "GET", "ANONYMOUS"), HTTP_OUT],
    "health": [http_trigger("health", "GET", "ANONYMOUS"), HTTP_OUT],
    "speech_callback": [http_trigger("speech-callbacks", "POST", "ANONYMOUS"), HTTP_OUT],
}


#: Read speech no other accuracy check reads, in a voice none uses (``tests/test_batch_engine.py``'s own).
BATCH_HELD_OUT = speech_audio.SHORT_SENTENCES[18:24]


@pytest.fixture(scope="module")
def held_out_batch(tmp_path_factory):
    return speech_audio.spoken(
        tmp_path_factory.mktemp("batch"), "held-out", [("en-us+m1", text) for text in BATCH_HELD_OUT]
    )


def wait_for_blob(service, container: str, name: str, timeout: float = 120) -> bytes:
    blob = service.get_container_client(container).get_blob_client(name)
    deadline = time.monotonic() + timeout
    while not blob.exists():
        assert time.monotonic() < deadline, f"{container}/{name} did not appear within {timeout:.0f} s"
        time.sleep(0.25)
    return blob.download_blob().readall()


def test_the_runtime_indexes_every_function_with_the_metadata_the_host_reads(stack):
    with FunctionsHost(stack, http_port=free_port(), timers=False) as host:  # a failed indexing raises here
        indexed = {name: list(f.bindings) for name, f in host.functions.items()}
        properties = {name: dict(f.properties) for name, f in host.functions.items()}
    assert indexed == INDEXED
    assert all(p == {"worker_indexed": "True"} for p in properties.values()), properties


def test_a_placeholder_worker_specialised_by_environment_reload_serves_the_app(stack):
    """A pre-warmed worker gets its app and settings by ``FunctionEnvironmentReloadRequest``, then indexes."""
    with FunctionsHost(stack, http_port=free_port(), placeholder=True, timers=False) as host:
        assert set(host.functions) == set(INDEXED)
        response = over_http(host, "GET", "/api/health")
    assert response.status_code == 200, response.get_body()


def test_health_and_the_contract_are_served_anonymously_over_http(functions_host):
    health = over_http(functions_host, "GET", "/api/health")
    assert health.status_code == 200
    assert json.loads(health.get_body())["status"] == "ok"
    contract = over_http(functions_host, "GET", "/api/openapi.yaml")
    assert contract.status_code == 200
    assert b"openapi:" in contract.get_body()
    assert over_http(functions_host, "GET", "/api/no-such-route").status_code == 404


def test_a_posted_recording_is_transcribed_in_the_request(functions_host, three_sentences_wav):
    response = over_http(
        functions_host,
        "POST",
        "/api/transcriptions?format=txt",
        three_sentences_wav.read_bytes(),
        {"Content-Type": "audio/wav"},
    )
    assert response.status_code == 200, response.get_body()
    text = response.get_body().decode()
    assert word_error_rate(text.split(": ", 1)[1]) <= 0.25, text


def test_a_job_goes_from_upload_to_transcript_through_every_jobs_route(functions_host, service, three_sentences_wav):
    created = over_http(
        functions_host,
        "POST",
        "/api/uploads",
        json.dumps({"filename": "call.wav"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.get_body()
    job = json.loads(created.get_body())
    assert put_blob(job["upload"]["url"], three_sentences_wav.read_bytes()) == 201  # Event Grid takes it on
    path = f"/api/transcriptions/{job['id']}"
    deadline = time.monotonic() + 120
    while (status := json.loads(over_http(functions_host, "GET", path).get_body())["status"]) != "succeeded":
        assert status in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    subtitles = over_http(functions_host, "GET", f"{path}/transcript?format=srt")
    assert subtitles.status_code == 200
    assert b"quarterly report" in subtitles.get_body().lower()
    listed = json.loads(over_http(functions_host, "GET", "/api/transcriptions").get_body())
    assert job["id"] in [j["id"] for j in listed["jobs"]]
    assert over_http(functions_host, "DELETE", path).status_code == 204
    assert over_http(functions_host, "GET", path).status_code == 404


def test_a_batch_job_is_submitted_and_finished_through_the_web_hook_inside_the_runtime(
    functions_host, service, held_out_batch
):
    """POST ?engine=batch (a job), the blob event submits it, the emulator calls the route the runtime serves
    (registered as local_stack registers it), and the job goes queued, running on batch, succeeded."""
    answer = over_http(
        functions_host,
        "POST",
        "/api/transcriptions?engine=batch",
        held_out_batch.read_bytes(),
        {"Content-Type": "audio/wav"},
    )
    assert answer.status_code == 202, answer.get_body()
    job = json.loads(answer.get_body())
    path, seen = f"/api/transcriptions/{job['id']}", [("queued", None)]
    deadline = time.monotonic() + 120
    while seen[-1][0] != "succeeded":
        assert time.monotonic() < deadline, seen
        view = json.loads(over_http(functions_host, "GET", path).get_body())
        if (view["status"], view["engine"]) != seen[-1]:
            seen.append((view["status"], view["engine"]))
        time.sleep(0.1)
    # running before its submission is made (no engine yet), then on batch until the service is done
    assert [state for state in seen if state != ("running", None)] == [
        ("queued", None),
        ("running", "batch"),
        ("succeeded", "batch"),
    ], seen
    text = over_http(functions_host, "GET", f"{path}/transcript?format=txt").get_body().decode()
    assert word_error_rate(text, " ".join(BATCH_HELD_OUT)) <= 0.2, text
    callbacks = [line for line in functions_host.worker_logs if '"via":"callback"' in line and job["id"] in line]
    assert any('"outcome":"transcribed"' in line for line in callbacks), callbacks


def test_audio_put_after_its_job_was_deleted_is_removed_through_the_runtime(
    functions_host, service, three_sentences_wav
):
    """The upload URL outlives a DELETE: the audio it brings is removed by the blob trigger, never transcribed."""
    created = over_http(
        functions_host,
        "POST",
        "/api/uploads",
        json.dumps({"filename": "call.wav"}).encode(),
        {"Content-Type": "application/json"},
    )
    job = json.loads(created.get_body())
    assert over_http(functions_host, "DELETE", f"/api/transcriptions/{job['id']}").status_code == 204
    assert put_blob(job["upload"]["url"], three_sentences_wav.read_bytes()) == 201  # the URL still works
    name = f"jobs/{job['id']}.wav"
    assert functions_host.blob_trigger.wait_for([name], timeout=60) == {name}
    for container in RUNTIME_CONTAINERS.values():
        left = service.get_container_client(container).list_blobs(name_starts_with=f"jobs/{job['id']}")
        assert [b.name for b in left] == [], container
    assert over_http(functions_host, "GET", f"/api/transcriptions/{job['id']}").status_code == 404
    assert any(name in line and '"outcome":"removed"' in line for line in functions_host.worker_logs)


def test_a_dropped_recording_becomes_a_transcript_through_the_blob_trigger(functions_host, service, dialogue_wav):
    name = f"drop/{uuid.uuid4().hex[:8]}.wav"
    service.get_container_client(RUNTIME_CONTAINERS["INPUT_CONTAINER"]).upload_blob(name, dialogue_wav.read_bytes())
    doc = json.loads(wait_for_blob(service, RUNTIME_CONTAINERS["OUTPUT_CONTAINER"], f"{name}.json"))
    assert len(doc["speakers"]) == 2
    assert doc["segments"]
    assert functions_host.blob_trigger.deliveries.delivered.poisoned == []
    # The transcript is written before the invocation ends: its log line comes with the end, not with the file.
    assert functions_host.blob_trigger.wait_for([name], timeout=60) == {name}
    invocation = next(line for line in functions_host.worker_logs if line.endswith("}") and name in line)
    record = json.loads(invocation.split("invocation ", 1)[1])
    assert record["outcome"] == "transcribed"
    assert record["invocation_id"]


def test_the_timer_runs_the_sweep_with_the_hosts_payload(functions_host):
    before = len([line for line in functions_host.worker_logs if "sweep: " in line])
    answer = over_http(
        functions_host, "POST", "/admin/functions/sweep", b'{"input": ""}', {"Content-Type": "application/json"}
    )
    assert answer.status_code == 202
    deadline = time.monotonic() + 60
    while len([line for line in functions_host.worker_logs if "sweep: " in line]) == before:
        assert time.monotonic() < deadline, "the sweep did not run"
        time.sleep(0.2)


def test_the_timer_fires_on_its_schedule(stack):
    settings = {**RUNTIME_CONTAINERS, SWEEP_SCHEDULE: "*/2 * * * * *"}
    with FunctionsHost(stack, http_port=free_port(), settings=settings) as host:
        deadline = time.monotonic() + 20
        while not any("sweep: " in line for line in host.worker_logs):
            assert time.monotonic() < deadline, list(host.worker_logs)[-20:]
            time.sleep(0.2)


@pytest.fixture
def failing_host(stack):
    """The app with its Speech service refusing every session start, in containers of its own."""
    suffix = uuid.uuid4().hex[:8]
    containers = {INPUT_CONTAINER: f"fail-in-{suffix}", OUTPUT_CONTAINER: f"fail-out-{suffix}"}
    with stack.blob_service() as service:
        for name in containers.values():
            service.create_container(name)
    settings = {
        **containers,
        "SPEECH_ENDPOINT": f"{stack.speech_endpoint}/stt/speech/universal/v2?fault=reject-500",
        "SPEECH_START_RETRY_SECONDS": "0.1",
    }
    with FunctionsHost(stack, http_port=free_port(), settings=settings, timers=False) as host:
        yield host


def test_a_failed_blob_invocation_is_redelivered_and_ends_as_the_same_error_record(
    failing_host, service, three_sentences_wav
):
    host, name = failing_host, "call.wav"
    service.get_container_client(host.settings[INPUT_CONTAINER]).upload_blob(name, three_sentences_wav.read_bytes())
    assert host.blob_trigger.wait_for([name], timeout=120) == {name}
    delivered = host.blob_trigger.deliveries.delivered
    (event,) = delivered.deliveries
    # delivered again at once after each failure; on the last delivery the door records and swallows it
    assert delivered.deliveries[event] == MAX_DELIVERIES
    assert delivered.poisoned == []
    assert poison_messages(host, host.settings[INPUT_CONTAINER]) == []
    record = json.loads(wait_for_blob(service, host.settings[OUTPUT_CONTAINER], f"{name}.error.json"))
    assert (record["transient"], record["attempt"], record["deliveries"]) == (True, MAX_DELIVERIES, MAX_DELIVERIES)


def poison_messages(host: FunctionsHost, container: str) -> list[dict]:
    """The host's poison-queue messages for blobs of ``container``."""
    from azure.core.exceptions import ResourceNotFoundError

    with host.stack.queue_service() as queues:
        try:
            messages = [json.loads(m.content) for m in queues.get_queue_client(POISON_QUEUE).peek_messages(32)]
        except ResourceNotFoundError:
            return []
    return [m for m in messages if m["ContainerName"] == container]
