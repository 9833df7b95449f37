"""The jobs API end to end: real processes (HTTPS + OAuth Azurite, speech emulator, token endpoint).

Every HTTP call goes through ``tests.app_functions.api``, which routes as the host does and checks
the response against ``openapi.yaml``. Uploads through a SAS URL are plain HTTP PUTs (no SDK, no key).
The blob trigger is invoked the way the worker would, with the extension's ``BlobClient``; there is no
Event Grid here, so each test calls it where Event Grid would.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import srt
import webvtt

from shared.jobs.names import new_job_id
from shared.platform import storage
from shared.platform.credentials import SPEECH_SCOPE
from shared.settings import Settings
from tests import speech_audio
from tests.app_functions import api, invoke_blob, new_upload

SPEECH = SPEECH_SCOPE.removesuffix("/.default")


# -- helpers ------------------------------------------------------------------------------------------
def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    """A plain HTTPS request (no SDK, no key) trusting the stack's certificate; returns the status."""
    context = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def put_blob(url: str, data: bytes) -> int:
    return http("PUT", url, data, {"x-ms-blob-type": "BlockBlob"})


def body(response) -> dict:
    return json.loads(response.get_body())


def run_trigger(audio_name: str):
    """What Event Grid + the host do after a blob lands: call the blob function for it."""
    return invoke_blob("audio-in", audio_name)


def audio_name_of(job_id: str) -> str:
    (name,) = [
        b.name for b in stack_service().get_container_client("audio-in").list_blobs(name_starts_with=f"jobs/{job_id}.")
    ]
    return name


_SERVICE = {}


def stack_service():
    return _SERVICE["service"]


@pytest.fixture(autouse=True)
def _service(service, monkeypatch):
    _SERVICE["service"] = service
    monkeypatch.setenv("JOB_PROGRESS_SECONDS", "1")


#: The long recording's length: at up to 10x real time and ``JOB_PROGRESS_SECONDS=1`` a job this long
#: writes its progress a dozen times or more, which is what the upload test is about; ten minutes
#: proved nothing more and took a minute.
LONG_SECONDS = 180.0


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory, three_sentences_wav) -> Path:
    """About three minutes of a meeting with long pauses: the three sentences, then 30 s of silence, again
    and again. Long enough to need a job and to show progress rising; sparse enough that the emulator's
    recogniser (which only works on speech) gets through it in seconds."""
    folder = tmp_path_factory.mktemp("long")
    seconds = speech_audio.duration_seconds(three_sentences_wav)
    repeats = int(LONG_SECONDS / (seconds + 30.0)) + 1
    return speech_audio.concat([three_sentences_wav] * repeats, folder / "long-meeting.wav", gap_seconds=30.0)


def upload_and_watch(audio: Path) -> tuple[str, list[dict], dict]:
    """A job made by ``POST /api/uploads``, its audio PUT to the upload URL, run by the trigger while its
    status is polled: ``(job id, the status each poll saw, the final status)``."""
    upload = new_upload("standup.wav")
    job_id = upload["id"]
    assert upload["status"] == "queued"
    assert upload["upload"]["method"] == "PUT"
    assert upload["upload"]["url"].startswith("https://")
    assert "sig=" in upload["upload"]["url"]
    assert body(api("GET", f"/api/transcriptions/{job_id}"))["status"] == "queued"

    assert put_blob(upload["upload"]["url"], audio.read_bytes()) == 201
    audio_name = audio_name_of(job_id)
    assert audio_name == f"jobs/{job_id}.wav"

    seen: list[dict] = []
    worker = threading.Thread(target=run_trigger, args=(audio_name,))
    worker.start()
    deadline = time.monotonic() + 600
    while worker.is_alive() and time.monotonic() < deadline:
        seen.append(body(api("GET", f"/api/transcriptions/{job_id}")))
        time.sleep(0.5)
    worker.join(timeout=5)
    return job_id, seen, body(api("GET", f"/api/transcriptions/{job_id}"))


def check_rendered_formats(job_id: str, transcript: dict, total: float) -> None:
    """SRT, WebVTT (chosen by ``Accept``) and text of a finished job agree with its JSON and its length."""
    subtitles = api("GET", f"/api/transcriptions/{job_id}/transcript?format=srt").get_body().decode()
    cues = list(srt.parse(subtitles))
    assert len(cues) >= len(transcript["segments"])
    starts = [c.start.total_seconds() for c in cues]
    assert starts == sorted(starts)
    assert all(s >= 0 for s in starts)
    assert all(c.start < c.end for c in cues)
    assert cues[-1].end.total_seconds() <= total + 0.01
    assert all(c.content.startswith("[Guest-") for c in cues)

    vtt = api("GET", f"/api/transcriptions/{job_id}/transcript", headers={"accept": "text/vtt"})
    assert vtt.mimetype == "text/vtt"
    captions = webvtt.from_string(vtt.get_body().decode())
    assert len(captions) == len(cues)
    assert all(c.voice and c.voice.startswith("Guest-") for c in captions)
    assert all(c.end_in_seconds <= total + 0.01 for c in captions)

    text = api("GET", f"/api/transcriptions/{job_id}/transcript?format=txt")
    assert text.mimetype == "text/plain"
    assert text.get_body().decode().startswith("[00:00:0")


# -- the upload path: SAS → PUT → trigger → status → transcripts ----------------------------------------
def test_a_long_upload_goes_queued_running_succeeded_with_progress_and_four_formats(
    stack, long_wav, three_sentences_wav, completions
):
    job_id, seen, final = upload_and_watch(long_wav)
    statuses = [s["status"] for s in seen]
    assert "running" in statuses, (statuses, final)
    assert final["status"] == "succeeded", (statuses, final)
    progress = [s["progress"]["seconds_done"] for s in seen if s["status"] == "running"]
    assert len(set(progress)) >= 3, progress
    assert progress == sorted(progress), progress  # it rose, never fell
    total = speech_audio.duration_seconds(long_wav)
    assert final["progress"]["seconds_total"] == pytest.approx(total, abs=0.5)
    assert final["started_at"]
    assert final["finished_at"] >= final["started_at"]
    assert set(final["links"]["transcript"]) == {"json", "txt", "srt", "vtt"}

    transcript = body(api("GET", final["links"]["transcript"]["json"]))
    assert transcript["duration_seconds"] == pytest.approx(total, abs=0.5)
    repeats = transcript["text"].lower().count("quarterly report")
    assert repeats >= 0.9 * round(total / (speech_audio.duration_seconds(three_sentences_wav) + 30)), repeats
    check_rendered_formats(job_id, transcript, total)

    (message,) = [m for m in completions() if m["id"] == job_id]
    assert message["status"] == "succeeded"
    assert message["links"]["self"] == f"/api/transcriptions/{job_id}"


def test_the_upload_url_writes_only_its_own_blob_and_only_until_it_expires(stack, service):
    upload = new_upload("a.mp3")
    url = upload["upload"]["url"]
    other = url.replace(f"jobs/{upload['id']}.mp3", f"jobs/{new_job_id()}.mp3")
    assert put_blob(other, b"not this one") == 403
    assert http("GET", url) == 403  # create + write only: it cannot read
    assert put_blob(url, b"ID3 some audio") == 201
    assert http("GET", url) == 403
    assert http("DELETE", url) == 403

    # The same minting code with a two-second lifetime: refused once it has passed.
    with storage.connect(Settings.from_env()) as clients:
        short, expires = storage.upload_url(clients.blobs, "audio-in", f"jobs/{new_job_id()}.wav", minutes=2 / 60)
    time.sleep(max(0.0, (expires.timestamp() - time.time())) + 1.5)
    assert put_blob(short, b"too late") == 403


def test_the_upload_url_lives_at_most_fifteen_minutes_over_https_for_create_and_write(stack):
    from urllib.parse import parse_qs, urlsplit

    upload = new_upload()
    query = parse_qs(urlsplit(upload["upload"]["url"]).query)
    assert query["sp"] == ["cw"]
    assert query["spr"] == ["https"]
    assert query["sr"] == ["b"]
    assert "skoid" in query  # a user-delegation SAS: signed with a key storage gave the app's identity
    from datetime import datetime

    expires = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00"))
    assert 0 < expires.timestamp() - time.time() <= 15 * 60 + 5


# -- the 202 path --------------------------------------------------------------------------------------
def session_count(stack) -> int:
    return stack.token_requests().get(SPEECH, 0)


def test_prefer_respond_async_stores_a_job_and_transcribes_nothing_until_the_trigger_runs(
    stack, three_sentences_wav, completions
):
    before = session_count(stack)
    response = api(
        "POST",
        "/api/transcriptions",
        three_sentences_wav.read_bytes(),
        {"content-type": "audio/wav", "prefer": "respond-async"},
    )
    assert response.status_code == 202, response.get_body()
    job = body(response)
    assert response.headers["Location"] == f"/api/transcriptions/{job['id']}" == job["links"]["self"]
    assert response.headers["Preference-Applied"] == "respond-async"
    assert job["status"] == "queued"
    assert session_count(stack) == before  # no token, so no Speech session, was asked for

    run_trigger(f"jobs/{job['id']}.wav")
    assert session_count(stack) == before + 1
    done = body(api("GET", job["links"]["self"]))
    assert done["status"] == "succeeded"

    # A redelivered event: still succeeded, not transcribed again, one completion message.
    run_trigger(f"jobs/{job['id']}.wav")
    assert session_count(stack) == before + 1
    assert body(api("GET", job["links"]["self"]))["status"] == "succeeded"
    assert len([m for m in completions() if m["id"] == job["id"]]) == 1


def test_audio_over_the_sync_limits_becomes_a_job(stack, three_sentences_wav, monkeypatch):
    audio = three_sentences_wav.read_bytes()
    monkeypatch.setenv("SYNC_MAX_BYTES", str(len(audio) - 1))
    assert api("POST", "/api/transcriptions", audio).status_code == 202
    monkeypatch.delenv("SYNC_MAX_BYTES")
    monkeypatch.setenv("SYNC_MAX_SECONDS", "5")  # the file declares 12.8 s
    assert api("POST", "/api/transcriptions", audio).status_code == 202
    monkeypatch.setenv("SYNC_MAX_SECONDS", "60")
    assert api("POST", "/api/transcriptions", audio).status_code == 200


def test_a_failed_job_says_why_keeps_its_audio_and_sends_one_message(stack, service, completions):
    upload = new_upload("not-audio.wav")
    assert put_blob(upload["upload"]["url"], b"this is a text file, not a recording\n" * 20) == 201
    name = f"jobs/{upload['id']}.wav"
    run_trigger(name)
    run_trigger(name)  # delivered twice
    job = body(api("GET", f"/api/transcriptions/{upload['id']}"))
    assert job["status"] == "failed"
    assert job["error"]["code"] == "unsupported_audio"
    assert "transcript" not in job["links"]
    assert service.get_container_client("audio-in").get_blob_client(name).exists()
    transcript = api("GET", f"/api/transcriptions/{upload['id']}/transcript")
    assert transcript.status_code == 409
    assert body(transcript)["error"]["code"] == "not_ready"
    messages = [m for m in completions() if m["id"] == upload["id"]]
    assert len(messages) == 1
    assert messages[0]["status"] == "failed"
    assert messages[0]["error"]["code"] == "unsupported_audio"


# -- reading, listing, deleting, bad ids ----------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    ["nope", "..%2F..%2Fsecrets", "0" * 26 + "x", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "jobs", "7zzzzzzzzzzzzzzzzzzzzzzzzz"],
)
def test_anything_but_a_known_well_formed_id_is_a_json_404(stack, bad):
    for method, path in (
        ("GET", f"/api/transcriptions/{bad}"),
        ("DELETE", f"/api/transcriptions/{bad}"),
        ("GET", f"/api/transcriptions/{bad}/transcript"),
    ):
        response = api(method, path)
        assert response.status_code == 404, (method, path)
        assert body(response)["error"]["code"] == "not_found", (method, path)


def test_transcript_format_and_accept_are_checked(stack, three_sentences_wav):
    job = body(api("POST", "/api/transcriptions", three_sentences_wav.read_bytes(), {"prefer": "respond-async"}))
    assert api("GET", f"/api/transcriptions/{job['id']}/transcript").status_code == 409  # queued
    run_trigger(f"jobs/{job['id']}.wav")
    base = f"/api/transcriptions/{job['id']}/transcript"
    assert api("GET", f"{base}?format=docx").status_code == 400
    assert api("GET", base, headers={"accept": "application/pdf"}).status_code == 406
    assert api("GET", base, headers={"accept": "application/x-subrip"}).mimetype == "application/x-subrip"
    assert api("GET", f"{base}?format=json", headers={"accept": "text/vtt"}).mimetype == "application/json"


def test_a_format_left_out_of_output_formats_is_rendered_from_the_json(stack, three_sentences_wav, monkeypatch):
    monkeypatch.setenv("OUTPUT_FORMATS", "json")
    job = body(api("POST", "/api/transcriptions", three_sentences_wav.read_bytes(), {"prefer": "respond-async"}))
    run_trigger(f"jobs/{job['id']}.wav")
    done = body(api("GET", f"/api/transcriptions/{job['id']}"))
    assert set(done["links"]["transcript"]) == {"json"}
    vtt = api("GET", f"/api/transcriptions/{job['id']}/transcript?format=vtt")
    assert vtt.status_code == 200
    assert len(webvtt.from_string(vtt.get_body().decode())) >= 3


def test_listing_is_newest_first_filters_by_status_and_pages(stack):
    made = [new_upload()["id"] for _ in range(3)]
    first = body(api("GET", "/api/transcriptions?top=2&status=queued"))
    assert [j["id"] for j in first["jobs"]] == made[::-1][:2]
    assert first["next"]
    second = body(api("GET", first["next"]))
    assert second["jobs"][0]["id"] == made[0]
    assert all(j["status"] == "queued" for j in first["jobs"] + second["jobs"])
    assert api("GET", "/api/transcriptions?top=0").status_code == 400
    assert api("GET", "/api/transcriptions?status=lost").status_code == 400
    superscript = api("GET", "/api/transcriptions?top=\u00b2")  # "²".isdigit() is True, int("²") raises
    assert superscript.status_code == 400
    assert body(superscript)["error"]["code"] == "invalid_query"


def test_delete_removes_audio_results_and_status(stack, service, three_sentences_wav):
    job = body(api("POST", "/api/transcriptions", three_sentences_wav.read_bytes(), {"prefer": "respond-async"}))
    run_trigger(f"jobs/{job['id']}.wav")
    assert api("DELETE", f"/api/transcriptions/{job['id']}").status_code == 204
    leftovers = [
        b.name
        for name in ("audio-in", "transcripts")
        for b in service.get_container_client(name).list_blobs(name_starts_with=f"jobs/{job['id']}")
    ]
    assert leftovers == []
    assert api("GET", f"/api/transcriptions/{job['id']}").status_code == 404
    assert api("DELETE", f"/api/transcriptions/{job['id']}").status_code == 404


def test_the_contract_is_served_and_is_a_valid_openapi_document(stack):
    import yaml
    from openapi_spec_validator import validate

    response = api("GET", "/api/openapi.yaml")
    assert response.status_code == 200
    document = yaml.safe_load(response.get_body())
    validate(document)
    assert set(document["paths"]) >= {"/transcriptions", "/transcriptions/{id}", "/uploads"}
