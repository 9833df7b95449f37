"""Many recordings at once against a Speech quota: every one transcribed, none poisoned, no person needed.

24 short recordings, each a different sentence, a third of them jobs, land at once. A stand-in of the
host (``local_stack.host``) delivers their events 8 at a time in one process, redelivers a failed one at once
and poisons it after ``MAX_DELIVERIES``. The Speech service (a second emulator, ``LocalStack.quota_emulator``)
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

from local_stack.host import deliver_all
from shared.settings import Settings
from shared.sweep import run_sweep
from speech_emulator.process import emulator_stats
from tests.app_functions import api, invoke_blob, new_upload
from tests.blob_io import results, word_error_rate

JOB_EVERY = 3  # every third recording arrives as a job (POST /api/uploads, then its upload)


def land_all(service, sentences: list[tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """Upload every recording (a third as jobs); the blob names in upload order, and the job ids."""
    inputs = service.get_container_client("audio-in")
    folder = f"burst-{uuid.uuid4().hex[:8]}"
    names, job_ids = [], []
    for i, (_, audio) in enumerate(sentences):
        if i % JOB_EVERY == 0:
            job = new_upload("call.wav")
            name = f"jobs/{job['id']}.wav"
            job_ids.append(job["id"])
        else:
            name = f"{folder}/{i:02d}.wav"
        inputs.upload_blob(name, audio)
        names.append(name)
    return names, job_ids


@pytest.mark.parametrize("quota", [2, 1], ids=["quota-2", "quota-1-F0"])
def test_a_burst_against_the_quota_ends_with_every_recording_transcribed(stack, service, monkeypatch, tmp_path,
                                                                          short_sentences, quota):
    with stack.quota_emulator(quota, tmp_path / "emulator.log") as url:
        monkeypatch.setenv("SPEECH_ENDPOINT", url)
        names, job_ids = land_all(service, short_sentences)
        delivered = deliver_all(names, lambda name: invoke_blob("audio-in", name), parallel=8)
        # then the timer's sweep, late enough that no backoff holds anything back, over every recording
        later = datetime.now(UTC) + timedelta(hours=2)
        prefixes = {names[1].split("/")[0] + "/"} | {f"jobs/{job_id}." for job_id in job_ids}
        swept = [run_sweep(Settings.from_env(), now=later, prefix=prefix) for prefix in sorted(prefixes)]
        stats = emulator_stats(url)

    assert delivered.poisoned == [], delivered.errors
    assert stats["peak"] <= quota and stats["refused_quota"] > 0  # the quota was hit, and it held
    # the events did it all within their deliveries: nothing was left for the sweep to do
    assert sum(report.pending for report in swept) == 0, [report.line() for report in swept]
    wrong = []
    for (text, _), name in zip(short_sentences, names, strict=True):
        found = results(service, name)
        assert ".error.json" not in found, found.get(".error.json")
        transcript = json.loads(found[".json"])
        if word_error_rate(transcript["text"], text) > 0.25:
            wrong.append((name, text, transcript["text"], transcript["warnings"], transcript["timings"]))
    # what the service saw, should a transcript be wrong: one line per session
    assert not wrong, (wrong, (tmp_path / "emulator.log").read_text().splitlines()[-60:])
    statuses = {json.loads(api("GET", f"/api/transcriptions/{job_id}").get_body())["status"] for job_id in job_ids}
    assert statuses == {"succeeded"}
