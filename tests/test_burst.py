"""Many recordings at once against a Speech quota: every one transcribed, none poisoned, no person needed.

24 short recordings, each a different sentence, a third of them jobs, land at once in an app running inside
the Functions runtime (``local_stack.functions_host``): Event Grid's events reach the host stand-in, which runs
``maxDegreeOfParallelism`` invocations at once in the worker, redelivers a failed one at once and poisons it
after ``poisonBlobThreshold``. The Speech service (a second emulator, ``LocalStack.quota_emulator``)
allows 2 concurrent sessions, then 1 (an F0 resource). Then the sweep runs as its timer would, over
every one of them, with no backoff holding anything back.
Every recording must end with its own sentence's transcript, no error record, no job failed and no
event poisoned.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from local_stack.functions_host import FunctionsHost
from local_stack.processes import free_port
from shared.recordings.sweep import run_sweep
from shared.settings import INPUT_CONTAINER, OUTPUT_CONTAINER, SPEECH_ENDPOINT, Settings
from speech_emulator.process import emulator_stats
from tests.app_functions import over_http
from tests.blob_io import word_error_rate

JOB_EVERY = 3  # every third recording arrives as a job (POST /api/uploads, then its upload)


def land_all(host, service, sentences: list[tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """Upload every recording (a third as jobs); the blob names in upload order, and the job ids."""
    inputs = service.get_container_client(host.settings[INPUT_CONTAINER])
    folder = f"burst-{uuid.uuid4().hex[:8]}"
    names, job_ids = [], []
    for i, (_, audio) in enumerate(sentences):
        if i % JOB_EVERY == 0:
            created = over_http(
                host, "POST", "/api/uploads", b'{"filename": "call.wav"}', {"Content-Type": "application/json"}
            )
            job = json.loads(created.get_body())
            name = f"jobs/{job['id']}.wav"
            job_ids.append(job["id"])
        else:
            name = f"{folder}/{i:02d}.wav"
        inputs.upload_blob(name, audio)
        names.append(name)
    return names, job_ids


@pytest.fixture
def burst_containers(service) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    containers = {INPUT_CONTAINER: f"burst-in-{suffix}", OUTPUT_CONTAINER: f"burst-out-{suffix}"}
    for name in containers.values():
        service.create_container(name)
    return containers


@pytest.mark.parametrize("quota", [2, 1], ids=["quota-2", "quota-1-F0"])
def test_a_burst_against_the_quota_ends_with_every_recording_transcribed(
    stack, service, tmp_path, short_sentences, burst_containers, quota
):
    with (
        stack.quota_emulator(quota, tmp_path / "emulator.log") as url,
        FunctionsHost(
            stack, http_port=free_port(), settings={**burst_containers, SPEECH_ENDPOINT: url}, timers=False
        ) as host,
    ):
        names, job_ids = land_all(host, service, short_sentences)
        host.blob_trigger.wait_for(names, timeout=600)
        delivered = host.blob_trigger.deliveries.delivered
        # then the timer's sweep, late enough that no backoff holds anything back, over every recording
        later = datetime.now(UTC) + timedelta(hours=2)
        settings = Settings.from_env(host.settings)
        prefixes = {names[1].split("/")[0] + "/"} | {f"jobs/{job_id}." for job_id in job_ids}
        swept = [run_sweep(settings, now=later, prefix=prefix) for prefix in sorted(prefixes)]
        stats = emulator_stats(url)
        statuses = {
            json.loads(over_http(host, "GET", f"/api/transcriptions/{job_id}").get_body())["status"]
            for job_id in job_ids
        }

    assert sorted(event.name for event in delivered.deliveries) == sorted(names)
    assert delivered.poisoned == [], delivered.errors
    assert stats["peak"] <= quota
    assert stats["refused_quota"] > 0
    # the events did it all within their deliveries: nothing was left for the sweep to do
    assert sum(report.pending for report in swept) == 0, [report.line() for report in swept]
    wrong = []
    outputs = service.get_container_client(burst_containers[OUTPUT_CONTAINER])
    for (text, _), name in zip(short_sentences, names, strict=True):
        assert not outputs.get_blob_client(f"{name}.error.json").exists(), name
        transcript = json.loads(outputs.get_blob_client(f"{name}.json").download_blob().readall())
        if word_error_rate(transcript["text"], text) > 0.25:
            wrong.append((name, text, transcript["text"], transcript["warnings"], transcript["timings"]))
    # what the service saw, should a transcript be wrong: one line per session
    assert not wrong, (wrong, (tmp_path / "emulator.log").read_text().splitlines()[-60:])
    assert statuses == {"succeeded"}
