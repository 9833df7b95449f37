"""The batch web hook's security: only a call signed with ``SPEECH_WEBHOOK_SECRET`` over its own exact body
finishes anything, and only for a transcription this app is waiting for, fetched from ``SPEECH_ENDPOINT``
whatever URL the body names. A bad signature, none, another body's signature, a challenge without a token, an
unknown transcription, a missing secret: each is the one JSON error, and changes nothing (the record, the
index, the results, the transcription on the service, the job's messages).
"""

from __future__ import annotations

import json
import uuid

import pytest

from shared.api.callbacks import sign
from shared.recordings.door import handle_blob
from tests.app_functions import api
from tests.batch_io import completion, drop, index, on_service, plan_fault, record, wait_until
from tests.blob_io import results
from tests.conftest import host_blob_client
from tests.rest_client import Receiver

ROUTE = "/api/speech-callbacks"


@pytest.fixture
def waiting(stack, service, three_sentences_wav):
    """A recording submitted to batch and finished on the service, whose callback never came."""
    plan_fault(stack, "no-callback")
    name = drop(service, three_sentences_wav.read_bytes())
    assert handle_blob(host_blob_client("audio-in", name)).status == "submitted"
    transcription = record(service, name)["transcription"]
    wait_until(lambda: (on_service(stack, transcription) or {}).get("status") == "Succeeded", 60, "Succeeded")
    return name, transcription


def state(stack, service, name: str, transcription: str) -> tuple:
    """What a callback could change."""
    return (
        record(service, name),
        sorted(index(service)),
        sorted(results(service, name)),
        on_service(stack, transcription),
    )


def refused(answer, status: int, code: str) -> bool:
    return answer.status_code == status and json.loads(answer.get_body()) == {
        "error": {"code": code, "message": json.loads(answer.get_body())["error"]["message"]}
    }


def test_a_challenge_is_answered_with_its_token_and_one_without_a_token_is_refused(stack):
    challenge = {"X-MicrosoftSpeechServices-Event": "Challenge"}
    answered = api("POST", f"{ROUTE}?validationToken=3f1c2b7e-token", b"", challenge)
    assert (answered.status_code, answered.get_body()) == (200, b"3f1c2b7e-token")
    for query in ("", "?validationToken=", "?validationToken=%3Cscript%3E"):
        assert refused(api("POST", f"{ROUTE}{query}", b"", challenge), 400, "invalid_request"), query


def test_bad_missing_or_anothers_signature_and_an_unknown_transcription_are_refused_changing_nothing(
    stack, service, waiting
):
    name, transcription = waiting
    before = state(stack, service, name, transcription)
    body, headers = completion(stack, transcription)
    other_body, other_headers = completion(stack, str(uuid.uuid4()))
    replayed = other_body.replace(other_body.split(b'"self": "')[1].split(b'"')[0], json.loads(body)["self"].encode())
    cases = {
        "bad signature": (body, {**headers, "X-MicrosoftSpeechServices-Signature": sign(body, "w" * 36)}, 401),
        "no signature": (body, {k: v for k, v in headers.items() if "Signature" not in k}, 401),
        "another body's signature": (replayed, other_headers, 401),
        "an unknown transcription": (other_body, other_headers, 404),
        "too long": (body + b" " * 70_000, headers, 400),
    }
    for case, (sent, sent_headers, status) in cases.items():
        answer = api("POST", ROUTE, sent, sent_headers)
        code = {401: "invalid_signature", 404: "unknown_transcription", 400: "invalid_request"}[status]
        assert refused(answer, status, code), (case, answer.status_code, answer.get_body())
        assert state(stack, service, name, transcription) == before, case
    done = api("POST", ROUTE, body, headers)  # the real one still works
    assert json.loads(done.get_body()) == {"transcription": transcription, "status": "transcribed"}


def test_without_its_secret_the_app_trusts_no_callback(stack, service, waiting, monkeypatch):
    name, transcription = waiting
    before = state(stack, service, name, transcription)
    body, headers = completion(stack, transcription)
    monkeypatch.delenv("SPEECH_WEBHOOK_SECRET")
    assert refused(api("POST", ROUTE, body, headers), 500, "configuration_error")
    assert state(stack, service, name, transcription) == before
    monkeypatch.undo()
    assert api("POST", ROUTE, body, headers).status_code == 200


def test_the_url_a_signed_body_names_is_never_fetched_only_its_id_is_taken(stack, service, waiting):
    name, transcription = waiting
    with Receiver() as elsewhere:
        forged = f"{elsewhere.url.rsplit('/api', 1)[0]}/speechtotext/transcriptions/{transcription}?api-version=1"
        body, headers = completion(stack, transcription, self_url=forged)
        answer = api("POST", ROUTE, body, headers)
        assert (answer.status_code, elsewhere.calls) == (200, [])
    assert json.loads(answer.get_body())["status"] == "transcribed"  # fetched from SPEECH_ENDPOINT
    assert ".json" in results(service, name)
