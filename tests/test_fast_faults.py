"""The fault matrix of the fast engine: each fault the fast transcription API can show the app, injected in the
emulator's fast API (``POST /emulator/faults``, the next requests), met through the blob door as a host's
delivery makes it and through the HTTP door where its answer differs.

Each case asserts the code and ``transient``, what the caller sees (``.error.json``, the HTTP status), that
the input blob is byte for byte as uploaded, and that it ended within its bound (``tests.faults.within``).
The README's fault table names these tests.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from shared.errors import TranscriptionError
from tests.app_functions import post_transcription
from tests.blob_io import upload
from tests.faults import SPEECH_RESOURCE, declared_wav, deliver, error_record, intact, timed, within

#: Small bounds keep the matrix fast; each case asserts against the value it set.
RETRY_SECONDS, IDLE_SECONDS = 3.0, 3.0


@pytest.fixture(autouse=True)
def _fast_with_small_bounds(stack, monkeypatch):
    monkeypatch.setenv("SPEECH_ENGINE", "fast")
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", str(RETRY_SECONDS))
    monkeypatch.setenv("SPEECH_IDLE_TIMEOUT_SECONDS", str(IDLE_SECONDS))
    yield
    plan(stack, "none", 0)


def plan(stack, fault: str, count: int | None = None) -> None:
    """The emulator's next ``count`` fast requests (``None``: all of them) meet ``fault``; ``count=0`` heals."""
    body = json.dumps({"api": "fast", "fault": fault, "count": count}).encode()
    base = stack.speech_endpoint.replace("ws://", "http://")
    request = urllib.request.Request(
        f"{base}/emulator/faults", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def failed_delivery(stack, service, data: bytes, fault: str, count: int | None = None):
    """One delivery of a fresh recording of ``data`` with ``fault`` planned: the delivery, its record, tokens."""
    name = upload(service, data)
    before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    plan(stack, fault, count)
    delivery = deliver(name)
    plan(stack, "none", 0)
    assert intact(service, name, data)
    return delivery, error_record(service, name), stack.token_requests().get(SPEECH_RESOURCE, 0) - before


def test_the_fast_api_answering_429_then_accepting_is_retried_in_the_invocation(stack, service, three_sentences_wav):
    delivery, record, tokens = failed_delivery(stack, service, three_sentences_wav.read_bytes(), "reject-429", 2)
    assert delivery.error is None, delivery.error
    assert delivery.result.status == "transcribed"
    assert delivery.result.transcript.engine == "fast"
    assert record is None
    assert tokens == 1  # one token for the invocation, its retries included
    assert within(delivery.seconds, RETRY_SECONDS)


def test_the_fast_api_answering_5xx_is_transient_after_the_retry_budget(stack, service, three_sentences_wav):
    data = three_sentences_wav.read_bytes()
    delivery, record, _ = failed_delivery(stack, service, data, "reject-503")
    assert isinstance(delivery.error, TranscriptionError), delivery.result  # raised: the host delivers it again
    assert (delivery.error.code, delivery.error.transient) == ("service_error", True)
    assert within(delivery.seconds, RETRY_SECONDS)
    assert (record["code"], record["transient"]) == ("service_error", True)
    plan(stack, "reject-500")
    http = timed(lambda: post_transcription(data))
    assert http.result.status_code == 502, http.result.get_body()
    assert json.loads(http.result.get_body())["error"]["code"] == "service_error"
    assert within(http.seconds, RETRY_SECONDS)


@pytest.mark.parametrize(("fault", "code"), [("reject-401", "authentication_failed"), ("reject-400", "bad_request")])
def test_the_fast_api_refusing_the_token_or_the_request_is_permanent_at_once(
    stack, service, three_sentences_wav, fault, code
):
    delivery, record, _ = failed_delivery(stack, service, three_sentences_wav.read_bytes(), fault)
    assert delivery.error is None  # returned, recorded: the host does not deliver it again
    assert delivery.result.status == "failed"
    assert (record["code"], record["transient"]) == (code, False)
    assert within(delivery.seconds, 1.0)


def test_a_silent_fast_api_ends_within_the_audio_length_and_the_idle_timeout(stack, service, three_sentences_wav):
    """The emulator reads the upload and never answers; the bound is the audio's length plus the idle timeout."""
    delivery, record, _ = failed_delivery(stack, service, three_sentences_wav.read_bytes(), "silent")
    assert isinstance(delivery.error, TranscriptionError), delivery.result
    assert (delivery.error.code, delivery.error.transient) == ("speech_timeout", True)
    assert "bytes sent" in record["message"]  # how far it got
    assert within(delivery.seconds, IDLE_SECONDS + 13.0)  # the clip is 12.8 s long
    assert (record["code"], record["transient"]) == ("speech_timeout", True)


def test_a_fast_upload_cut_mid_way_is_sent_again_then_ends_transient(stack, service, three_sentences_wav):
    """Cut once: sent again from the start and transcribed. Cut every time: ``service_error`` after the budget."""
    data = three_sentences_wav.read_bytes()
    once, record, _ = failed_delivery(stack, service, data, "cut", 1)
    assert once.error is None, once.error
    assert once.result.status == "transcribed"
    assert record is None
    always, record, _ = failed_delivery(stack, service, data, "cut")
    assert isinstance(always.error, TranscriptionError), always.result
    assert (always.error.code, always.error.transient) == ("service_error", True)
    assert "closed the connection without an answer" in always.error.message
    assert within(always.seconds, RETRY_SECONDS)
    assert (record["code"], record["transient"]) == ("service_error", True)


def test_audio_over_fasts_limits_is_refused_before_any_token_or_upload(stack, service):
    """``engine=fast`` and a recording declaring 130 min: a permanent record, no token fetched, nothing sent (a
    planned 401 would otherwise have been met)."""
    data = declared_wav(130 * 60)
    delivery, record, tokens = failed_delivery(stack, service, data, "reject-401")
    assert delivery.result.status == "failed"
    assert (record["code"], record["transient"]) == ("audio_too_large", False)
    assert "fast takes less than 120" in record["message"]
    assert tokens == 0
    assert within(delivery.seconds, 1.0)
