"""A session start refused past the Speech quota is retried inside the invocation, within its budget.

The service (a second emulator, ``LocalStack.quota_emulator``) allows one session; the test holds that one slot with a
plain websocket of its own, so every session the app starts is refused with 429 at the upgrade, until
the test lets go. The invocation must wait (full-jitter backoff, ``shared.platform.retry_policy``) and then
succeed, with one token for all its tries; with the slot never freed it must give up when
``SPEECH_START_RETRY_SECONDS`` is spent, and the failure must not count toward ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.asyncio.client import connect

from local_stack.identity import mint
from shared.errors import ThrottledError
from shared.recordings.door import handle_blob
from speech_emulator.process import emulator_stats
from tests.blob_io import results, upload, word_error_rate
from tests.conftest import host_blob_client
from tests.faults import SPEECH_RESOURCE, within


@pytest.fixture(scope="module")
def one_slot(stack, tmp_path_factory) -> Iterator[str]:
    with stack.quota_emulator(1, tmp_path_factory.mktemp("quota") / "emulator.log") as url:
        yield url


@contextmanager
def slot_held(stack, url: str, seconds: float) -> Iterator[None]:
    """Someone else's session holds the only slot for ``seconds`` (or until the block ends)."""
    opened, release = threading.Event(), threading.Event()

    async def hold() -> None:
        token = mint(SPEECH_RESOURCE, stack.env["LOCAL_IDENTITY_SECRET"])
        async with connect(
            f"{url}/stt/speech/universal/v2",
            subprotocols=["USP"],
            additional_headers={"Authorization": f"Bearer {token}"},
        ):
            opened.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, seconds)

    holder = threading.Thread(target=asyncio.run, args=(hold(),), daemon=True)
    holder.start()
    assert opened.wait(10), "could not take the slot"
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def test_a_refused_start_is_retried_until_a_slot_frees(
    stack, service, monkeypatch, one_slot, three_sentences_wav, caplog
):
    caplog.set_level(logging.INFO, logger="shared")
    monkeypatch.setenv("SPEECH_ENDPOINT", one_slot)
    name = upload(service, three_sentences_wav.read_bytes())
    refused_before = emulator_stats(one_slot)["refused_quota"]
    tokens_before = stack.token_requests().get(SPEECH_RESOURCE, 0)
    started = time.monotonic()
    with slot_held(stack, one_slot, seconds=4.0):
        outcome = handle_blob(host_blob_client("audio-in", name))
    assert outcome.status == "transcribed"
    assert time.monotonic() - started >= 4.0
    assert emulator_stats(one_slot)["refused_quota"] > refused_before  # it was refused, and waited its turn
    assert stack.token_requests().get(SPEECH_RESOURCE, 0) - tokens_before == 1  # one token for every try
    assert any(
        "refused the session" in r.getMessage() and "SPEECH_START_RETRY_SECONDS" in r.getMessage()
        for r in caplog.records
    )
    assert word_error_rate(json.loads(results(service, name)[".json"])["text"]) <= 0.25


def test_the_retries_end_with_their_budget_and_throttling_is_not_counted_as_a_fault(
    stack, service, monkeypatch, one_slot, three_sentences_wav
):
    monkeypatch.setenv("SPEECH_ENDPOINT", one_slot)
    monkeypatch.setenv("SPEECH_START_RETRY_SECONDS", "3")
    name = upload(service, three_sentences_wav.read_bytes())
    started = time.monotonic()
    with slot_held(stack, one_slot, seconds=60.0), pytest.raises(ThrottledError):
        handle_blob(host_blob_client("audio-in", name))  # the budget is spent: back to the host
    assert within(time.monotonic() - started, 3.0)
    record = json.loads(results(service, name)[".error.json"])
    assert (record["code"], record["transient"], record["attempt"], record["faults"]) == ("throttled", True, 1, 0)
