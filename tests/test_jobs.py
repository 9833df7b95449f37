"""The job store against the stack's real Azurite (HTTPS, OAuth): ids, transitions, races, listing,
deletion and the completion message on a real storage queue."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceModifiedError
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.errors import (
    ConfigurationError,
    InvalidJobQueryError,
    JobNotFoundError,
    JobStateError,
    UnsupportedAudioError,
)
from shared.jobs import store as job_documents
from shared.jobs.completion import COMPLETION_CLAIM_SECONDS, finish_job
from shared.jobs.listing import delete_job, list_jobs
from shared.jobs.model import FAILED, QUEUED, RUNNING, SUCCEEDED
from shared.jobs.names import (
    audio_blob_name,
    job_created_at,
    job_id_from_blob_name,
    new_job_id,
    parse_job_id,
    status_blob_name,
)
from shared.jobs.store import JobStore, create_job, get_job, report_progress, start_job
from shared.jobs.views import public_view

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


def queue_client(queue_service, name: str):
    # Base64 text, as a Functions queue trigger downstream expects by default.
    return queue_service.get_queue_client(
        name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
    )


@pytest.fixture
def names():
    """Containers and a queue of this test's own, so listings see only this test's jobs."""
    suffix = uuid.uuid4().hex[:12]
    return f"jobs-in-{suffix}", f"jobs-out-{suffix}", f"jobs-done-{suffix}"


@pytest.fixture
def store(stack, names):
    audio_name, results_name, queue_name = names
    with stack.blob_service() as blobs, stack.queue_service() as queues:
        audio, results = blobs.create_container(audio_name), blobs.create_container(results_name)
        queue = queue_client(queues, queue_name)
        queue.create_queue()
        yield JobStore(audio=audio, results=results, completions=queue)
        audio.delete_container()
        results.delete_container()
        queue.delete_queue()


def other_store(stack, names):
    """A second invocation's clients onto the same containers and queue (built separately)."""
    audio_name, results_name, queue_name = names
    blobs, queues = stack.blob_service(), stack.queue_service()
    store = JobStore(
        audio=blobs.get_container_client(audio_name),
        results=blobs.get_container_client(results_name),
        completions=queue_client(queues, queue_name),
    )
    return store, (blobs, queues)


def drain(store: JobStore) -> list[dict]:
    """Every message on the completion queue (visibility timeout long enough to never see one twice)."""
    messages = []
    while batch := list(store.completions.receive_messages(messages_per_page=32, visibility_timeout=60)):
        messages.extend(json.loads(m.content) for m in batch)
    return messages


# -- ids and names ------------------------------------------------------------------------------------
def test_ids_are_well_formed_unique_and_sort_newest_first():
    earlier = [new_job_id(T0 + timedelta(milliseconds=i)) for i in range(50)]
    assert all(parse_job_id(i) == i and len(i) == 26 for i in earlier)
    assert len(set(earlier)) == 50
    assert earlier == sorted(earlier, reverse=True), "a later id must sort before an earlier one"
    assert job_created_at(earlier[7]) == T0 + timedelta(milliseconds=7)
    many_now = {new_job_id(T0) for _ in range(1000)}
    assert len(many_now) == 1000  # the random part separates ids of one millisecond


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x",
        "../../transcripts/x",
        "jobs/../status",
        None,
        42,
        "0" * 25,
        "0" * 27,  # one short, one long
        "8" + "0" * 25,  # time prefix out of range
        "0" * 25 + "i",
        "0" * 25 + "l",
        "0" * 25 + "o",
        "0" * 25 + "u",  # not Crockford
        "0" * 25 + "A",  # upper case: one id, one spelling, one blob name
        "0" * 25 + "/",
        "0" * 24 + "..",
        "0" * 26 + "\n",
        " " + "0" * 25,
        "0" * 25 + "\u0660",
    ],
)
def test_anything_but_a_well_formed_id_is_rejected_before_a_name_is_built(bad):
    with pytest.raises(JobNotFoundError):
        parse_job_id(bad)
    with pytest.raises(JobNotFoundError):
        status_blob_name(bad)
    with pytest.raises(JobNotFoundError):
        audio_blob_name(bad, "wav")


def test_audio_blob_names_round_trip_and_nothing_else_maps_to_a_job():
    job_id = new_job_id()
    name = audio_blob_name(job_id, "wav")
    assert name == f"jobs/{job_id}.wav"
    assert job_id_from_blob_name(name) == job_id
    for other in (
        f"{name}.json",
        f"jobs/{job_id}/status.json",
        f"other/{job_id}.wav",
        f"jobs/{job_id.upper()}.wav",
        f"jobs/{job_id}",
        f"jobs/{job_id}.",
        f"jobs/x/{job_id}.wav",
        "call.wav",
        f"jobs/{job_id}.WAV",
    ):
        assert job_id_from_blob_name(other) is None, other
    for ext in ("", "WAV", "w/av", "../x", "a" * 11, "m4a "):
        with pytest.raises(ValueError):
            audio_blob_name(job_id, ext)


# -- transitions --------------------------------------------------------------------------------------
def test_a_job_runs_from_queued_through_progress_to_succeeded(store):
    job = create_job(store, "wav", now=T0)
    assert (job.status, job.audio) == (QUEUED, {"container": store.audio.container_name, "name": f"jobs/{job.id}.wav"})
    assert get_job(store, job.id) == job

    running = start_job(store, job.id, seconds_total=600.0, now=T0 + timedelta(seconds=1))
    assert (running.status, running.attempts, running.seconds_total) == (RUNNING, 1, 600.0)
    for done in (60.0, 30.0, 120.0):  # a late, smaller report never moves progress back
        report_progress(store, job.id, done, now=T0 + timedelta(seconds=2))
    assert get_job(store, job.id).seconds_done == 120.0

    results = {"json": f"jobs/{job.id}.wav.json", "srt": f"jobs/{job.id}.wav.srt"}
    outcome = finish_job(store, job.id, results=results, now=T0 + timedelta(seconds=3))
    assert outcome.won
    assert outcome.notified
    final = get_job(store, job.id)
    assert final.status == SUCCEEDED
    assert final.results == results
    assert final.seconds_done == 600.0
    assert final.started_at < final.finished_at
    assert final.completion["state"] == "sent"

    view = public_view(final)
    assert view["links"]["self"] == f"/api/transcriptions/{job.id}"
    assert set(view["links"]["transcript"]) == {"json", "srt"}
    assert "completion" not in view
    assert "audio" not in view
    [message] = drain(store)
    assert (message["id"], message["status"]) == (job.id, SUCCEEDED)
    assert message["results"]["srt"] == {"container": store.results.container_name, "name": results["srt"]}


def test_a_failed_job_records_the_error_code_and_says_so_once(store):
    job = create_job(store, "mp3")
    start_job(store, job.id)
    outcome = finish_job(store, job.id, error=UnsupportedAudioError("not audio: a PNG image"))
    assert outcome.won
    assert outcome.job.status == FAILED
    assert get_job(store, job.id).error == {"code": "unsupported_audio", "message": "not audio: a PNG image"}
    [message] = drain(store)
    assert message["status"] == FAILED
    assert message["error"]["code"] == "unsupported_audio"


@pytest.mark.parametrize("outcome", [SUCCEEDED, FAILED])
def test_a_redelivered_event_never_moves_a_finished_job_backwards(store, outcome):
    job = create_job(store, "wav")
    start_job(store, job.id, seconds_total=10.0)
    error = None if outcome == SUCCEEDED else {"code": "bad_request", "message": "rejected"}
    finish_job(store, job.id, results={"json": "r.json"}, error=error)
    finished = get_job(store, job.id)

    again = start_job(store, job.id, seconds_total=99.0)  # the redelivered event starts over...
    assert again.terminal
    assert again.status == outcome
    report_progress(store, job.id, 5.0)
    second = finish_job(store, job.id, error={"code": "service_error", "message": "other"} if not error else None)
    assert not second.won
    assert not second.notified
    stored = get_job(store, job.id)
    assert stored == finished
    assert stored.etag == finished.etag
    assert len(drain(store)) == 1


def test_a_lost_race_is_read_again_and_decided_again(store):
    job = create_job(store, "wav")
    start_job(store, job.id)
    calls = []

    def progress_while_someone_finishes(current):
        calls.append(current.status)
        if len(calls) == 1:  # between our read and our write, another invocation finishes the job
            finish_job(store, job.id, results={"json": "r.json"})
            return replace(current, seconds_done=1.0)
        return None if current.terminal else replace(current, seconds_done=1.0)

    result, changed = job_documents.update(store, job.id, progress_while_someone_finishes)
    assert calls == [RUNNING, SUCCEEDED]
    assert not changed
    assert result.status == SUCCEEDED

    stale = get_job(store, job.id)
    report = replace(stale, status=RUNNING)
    job_documents.write(store, stale)  # someone rewrites it: the ETag moves on
    with pytest.raises(ResourceModifiedError):
        job_documents.write(store, report)  # the write over the old ETag is refused by storage


def test_concurrent_finishes_have_one_winner_and_send_one_message(stack, store, names):
    rounds, racers = 8, 3
    ids = [create_job(store, "wav").id for _ in range(rounds)]
    for job_id in ids:
        start_job(store, job_id)
    outcomes: dict[str, list] = {job_id: [] for job_id in ids}
    clients = [other_store(stack, names) for _ in range(racers)]
    try:
        for job_id in ids:
            barrier = threading.Barrier(racers)

            def finish(own_store, job_id=job_id, barrier=barrier):
                barrier.wait()
                outcomes[job_id].append(finish_job(own_store, job_id, results={"json": f"{job_id}.json"}))

            threads = [threading.Thread(target=finish, args=(own,)) for own, _ in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    finally:
        for _, (blobs, queues) in clients:
            blobs.close()
            queues.close()
    for job_id in ids:
        assert len(outcomes[job_id]) == racers, "a racer did not finish"
        assert sum(o.won for o in outcomes[job_id]) == 1
        assert sum(o.notified for o in outcomes[job_id]) == 1
        assert get_job(store, job_id).status == SUCCEEDED
    messages = drain(store)
    assert sorted(m["id"] for m in messages) == sorted(ids)


def test_a_failed_send_is_retried_by_the_next_delivery_and_sent_once(stack, store, names):
    job = create_job(store, "wav")
    start_job(store, job.id)
    with stack.queue_service() as queues:
        missing = JobStore(store.audio, store.results, queue_client(queues, f"no-such-{uuid.uuid4().hex[:8]}"))
        with pytest.raises(ConfigurationError, match="COMPLETION_QUEUE"):  # a queue that is not there
            finish_job(missing, job.id, results={"json": "r.json"})  # status written, message not sent
    assert get_job(store, job.id).status == SUCCEEDED
    assert get_job(store, job.id).completion["state"] == "unsent"

    retried = finish_job(store, job.id, results={"json": "r.json"})  # the host retries the event
    assert not retried.won
    assert retried.notified
    assert finish_job(store, job.id).notified is False
    assert [m["id"] for m in drain(store)] == [job.id]


def test_a_claim_whose_sender_died_is_taken_over_only_after_it_expires(store):
    job = create_job(store, "wav")

    class DiesBeforeSending:
        def send_message(self, content):
            raise SystemExit("the worker was recycled mid-send")

    with pytest.raises(SystemExit):
        finish_job(JobStore(store.audio, store.results, DiesBeforeSending()), job.id, now=T0)
    assert get_job(store, job.id).completion["state"] == "claimed"

    soon = finish_job(store, job.id, now=T0 + timedelta(seconds=30))
    assert not soon.notified
    assert drain(store) == []
    late = finish_job(store, job.id, now=T0 + timedelta(seconds=COMPLETION_CLAIM_SECONDS + 1))
    assert late.notified
    assert [m["id"] for m in drain(store)] == [job.id]


def test_unknown_jobs_are_not_found_and_a_missing_container_is_a_configuration_error(stack, store):
    unknown = new_job_id()
    for action in (
        lambda: get_job(store, unknown),
        lambda: start_job(store, unknown),
        lambda: finish_job(store, unknown),
        lambda: delete_job(store, unknown),
    ):
        with pytest.raises(JobNotFoundError):
            action()
    with stack.blob_service() as blobs:
        nowhere = JobStore(store.audio, blobs.get_container_client(f"missing-{uuid.uuid4().hex[:8]}"))
        with pytest.raises(ConfigurationError, match="container does not exist"):  # a setting names it: permanent
            get_job(nowhere, unknown)


def test_a_corrupt_status_document_is_a_typed_error(store):
    job = create_job(store, "wav")
    store.results.upload_blob(status_blob_name(job.id), b"{not json", overwrite=True)
    with pytest.raises(JobStateError):
        get_job(store, job.id)


# -- listing and deleting -----------------------------------------------------------------------------
def pipeline_results(store: JobStore, job_id: str) -> None:
    """What the blob pipeline writes for a job: audio in, results out, beside the status document."""
    store.audio.upload_blob(audio_blob_name(job_id, "wav"), b"RIFF")
    for ext in ("json", "txt", "srt", "vtt"):
        store.results.upload_blob(f"jobs/{job_id}.wav.{ext}", b"{}")


def test_listing_is_newest_first_and_pages_through_every_job_once(store):
    created = [create_job(store, "wav", now=T0 + timedelta(seconds=i)).id for i in range(7)]
    for job_id in created[::2]:
        pipeline_results(store, job_id)  # results share the prefix and must not count
    newest_first = created[::-1]

    seen, token, pages = [], None, 0
    while pages < 10:  # bounded: a token that never ends must fail here, not hang
        page = list_jobs(store, top=3, page_token=token)
        pages += 1
        assert len(page.jobs) <= 3
        seen.extend(j.id for j in page.jobs)
        token = page.next_page_token
        if token is None:
            break
    assert seen == newest_first
    assert pages == 3
    assert list_jobs(store, top=100).jobs[0].created_at == get_job(store, created[-1]).created_at


def test_listing_by_status_with_a_bounded_scan_still_finds_each_match_once_in_order(store):
    created = [create_job(store, "wav", now=T0 + timedelta(seconds=i)).id for i in range(9)]
    for job_id in created:
        pipeline_results(store, job_id)
    done = created[1::3]
    for job_id in done:
        finish_job(store, job_id, results={"json": f"jobs/{job_id}.wav.json"})

    first = list_jobs(store, status=SUCCEEDED, top=100)
    assert [j.id for j in first.jobs] == done[::-1]
    assert first.next_page_token is None
    assert all(j.status == SUCCEEDED and j.finished_at for j in first.jobs)

    seen, token, calls = [], None, 0
    while calls < 100:  # tiny scans: 2 names per request, 1 request per call
        page = list_jobs(store, status=SUCCEEDED, top=1, page_token=token, scan_page_size=2, max_scan_pages=1)
        calls += 1
        seen.extend(j.id for j in page.jobs)
        token = page.next_page_token
        if token is None:
            break
    assert seen == done[::-1]
    assert calls > len(done)
    assert [j.id for j in list_jobs(store, status=QUEUED).jobs] == [i for i in created[::-1] if i not in done]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"top": 0},
        {"top": 101},
        {"top": "5"},
        {"page_token": "not-a-token"},
        {"page_token": "eyJtIjpudWxsLCJhIjoiLi4vIn0"},
    ],
)
def test_bad_listing_queries_are_typed_400s(store, query):
    with pytest.raises(InvalidJobQueryError) as caught:
        list_jobs(store, **query)
    assert caught.value.http_status == 400


def test_delete_removes_audio_results_and_status_and_nothing_of_other_jobs(store):
    keep, drop = create_job(store, "wav").id, create_job(store, "wav").id
    for job_id in (keep, drop):
        pipeline_results(store, job_id)
    delete_job(store, drop)
    left = [b.name for c in (store.audio, store.results) for b in c.list_blobs()]
    assert not [n for n in left if drop in n]
    assert sorted(n for n in left if keep in n) == sorted(
        [f"jobs/{keep}.wav", status_blob_name(keep)] + [f"jobs/{keep}.wav.{e}" for e in ("json", "srt", "txt", "vtt")]
    )
    with pytest.raises(JobNotFoundError):
        get_job(store, drop)
    with pytest.raises(JobNotFoundError):
        delete_job(store, drop)
    assert [j.id for j in list_jobs(store).jobs] == [keep]


def test_delete_takes_exactly_the_jobs_own_blobs_never_neighbours_sharing_its_prefix(store):
    job = create_job(store, "wav")
    pipeline_results(store, job.id)
    store.results.upload_blob(f"jobs/{job.id}.wav.error.json", b"{}")
    neighbours = [
        (store.audio, f"jobs/{job.id}-notes.wav"),
        (store.audio, f"jobs/{job.id}x/keep.txt"),
        (store.results, f"jobs/{job.id}-notes.wav.json"),
        (store.results, f"jobs/{job.id}/other.txt"),
    ]
    for container, name in neighbours:
        container.upload_blob(name, b"not the job's")
    delete_job(store, job.id)
    left = {(c.container_name, b.name) for c in (store.audio, store.results) for b in c.list_blobs()}
    assert left == {(c.container_name, name) for c, name in neighbours}


def test_delete_of_an_id_without_a_status_document_is_not_found_and_touches_nothing(store):
    job_id = new_job_id()
    store.audio.upload_blob(f"jobs/{job_id}.wav", b"uploaded by hand")
    store.results.upload_blob(f"jobs/{job_id}.wav.json", b"{}")
    with pytest.raises(JobNotFoundError):
        delete_job(store, job_id)
    assert store.audio.get_blob_client(f"jobs/{job_id}.wav").exists()
    assert store.results.get_blob_client(f"jobs/{job_id}.wav.json").exists()


def test_delete_refuses_a_status_document_that_names_another_blob(store):
    job = create_job(store, "wav")
    other = f"jobs/{new_job_id()}.wav"
    store.audio.upload_blob(other, b"someone else's")
    job_documents.write(store, replace(job, audio={"container": job.audio["container"], "name": other}))
    with pytest.raises(JobStateError):
        delete_job(store, job.id)
    assert store.audio.get_blob_client(other).exists()


def test_a_job_too_short_to_report_progress_finishes_with_its_length_done(store):
    job = create_job(store, "wav")
    start_job(store, job.id)  # no length known yet, and no progress written before it finished
    done = finish_job(store, job.id, results={"json": f"jobs/{job.id}.wav.json"}, audio_seconds=4.2).job
    assert (done.seconds_done, done.seconds_total) == (4.2, 4.2)
    failed_job = create_job(store, "wav")
    start_job(store, failed_job.id)
    failed = finish_job(store, failed_job.id, error={"code": "x", "message": "y"}, audio_seconds=4.2).job
    assert failed.seconds_done == 0.0
    assert failed.seconds_total is None
