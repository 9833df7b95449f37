"""The emulator's concurrent-session quota (``--max-sessions``), ``GET /stats`` and parallel recognition.

A product that limits its own concurrency is tested against a service that refuses the session
past its quota with HTTP 429 at the websocket upgrade; the SDK retries a few times and then
cancels with ``TooManyRequests``. ``/stats`` is how a load test proves afterwards that the quota
held (``peak``) and that sessions were really recognised side by side (``decoding_peak``).
"""

from __future__ import annotations

import gc
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import azure.cognitiveservices.speech as speechsdk
import pytest

from speech_emulator.process import start_emulator
from tests import speech_audio
from tests.test_speech_emulator import DEADLINE, bounded, speech_config, transcribe, wer

#: These start real processes of their own (the speech emulator, the stack): not for ``make test-unit``.
pytestmark = pytest.mark.stack

QUOTA = 2


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("quota-audio")
    return SimpleNamespace(
        short=speech_audio.speak("Hello world.", folder / "short.wav"),
        three=speech_audio.three_sentences(folder / "three.wav"),
    )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    log = tmp_path_factory.mktemp("quota-emulator") / "emulator.log"
    args = ("--max-sessions", str(QUOTA), "--recognizers", "2")
    with start_emulator(extra_args=args, log_path=log) as (url, process):
        yield SimpleNamespace(url=url, process=process, log=log)


def stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.replace("ws://", "http://") + "/stats", timeout=5) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.load(response)


def wait_for_stats(url: str, predicate: Any, timeout: float = DEADLINE) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = stats(url)
        if predicate(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.1)


@contextmanager
def held_session(url: str) -> Iterator[None]:
    """A transcriber whose audio never ends: its websocket stays open (one quota slot) until the block exits."""
    stream = speechsdk.audio.PushAudioInputStream()
    transcriber = speechsdk.transcription.ConversationTranscriber(
        speech_config(url), audio_config=speechsdk.audio.AudioConfig(stream=stream)
    )
    stopped = threading.Event()
    transcriber.session_stopped.connect(lambda _event: stopped.set())
    bounded(transcriber.start_transcribing_async().get)
    stream.write(b"\0" * 16000)  # half a second of silence: the SDK connects once it has audio
    try:
        yield
    finally:
        stream.close()
        stopped.wait(DEADLINE)
        transcriber.session_stopped.disconnect_all()
        bounded(transcriber.stop_transcribing_async().get)
        del transcriber, stream
        gc.collect()


def test_session_past_the_quota_is_refused_with_429(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    with held_session(emulator.url), held_session(emulator.url):
        live = wait_for_stats(emulator.url, lambda s: s["live"] == QUOTA)
        assert live["live"] == QUOTA, live
        refused_before = live["refused_quota"]
        started = time.monotonic()
        run = transcribe(speech_config(emulator.url), audio.short)
        elapsed = time.monotonic() - started

        assert run.phrases == []
        assert [code for code, _ in run.errors] == [speechsdk.CancellationErrorCode.TooManyRequests], run.errors
        assert "429" in run.errors[0][1]
        refused = stats(emulator.url)["refused_quota"] - refused_before
        print(f"\nquota: session {QUOTA + 1} canceled TooManyRequests after {elapsed:.2f} s, {refused} refusals")
        assert refused >= 1
        assert elapsed < DEADLINE
    # Both slots free again once the holders' websockets are gone; a new session gets in.
    free = wait_for_stats(emulator.url, lambda s: s["live"] == 0)
    assert free["live"] == 0, free
    run = transcribe(speech_config(emulator.url), audio.short)
    assert run.errors == []
    assert len(run.phrases) == 1
    assert stats(emulator.url)["peak"] == QUOTA


def test_a_freed_slot_admits_the_next_session(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    with held_session(emulator.url):
        with held_session(emulator.url):
            assert wait_for_stats(emulator.url, lambda s: s["live"] == QUOTA)["live"] == QUOTA
        one_left = wait_for_stats(emulator.url, lambda s: s["live"] == 1)
        assert one_left["live"] == 1, one_left
        run = transcribe(speech_config(emulator.url), audio.short)  # uses the slot the first holder freed
        assert run.errors == []
        assert len(run.phrases) == 1
    assert stats(emulator.url)["peak"] == QUOTA


def test_sessions_are_recognised_in_parallel(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """With ``--recognizers 2`` two sessions' phrases are decoded at the same time, not queued."""
    assert wait_for_stats(emulator.url, lambda s: s["live"] == 0)["live"] == 0  # earlier sessions are gone
    runs: list[Any] = [None, None]

    def one(index: int) -> None:
        runs[index] = transcribe(speech_config(emulator.url), audio.three, wait=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    for run in runs:
        assert run is not None
        assert run.errors == []
        assert len(run.phrases) == 3
        assert wer(" ".join(speech_audio.THREE_SENTENCES), run.text) <= 0.25, run.text
    after = stats(emulator.url)
    assert after["recognizers"] == 2, after
    assert after["decoding_peak"] == 2, after


def test_stats_counts_only_quota_refusals(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    before = stats(emulator.url)
    run = transcribe(speech_config(emulator.url, use_host=True, fault="reject-429"), audio.short)

    assert [code for code, _ in run.errors] == [speechsdk.CancellationErrorCode.TooManyRequests]
    after = stats(emulator.url)
    assert after["refused_quota"] == before["refused_quota"]  # an injected fault is not the quota
    assert after["max_sessions"] == QUOTA
    assert after["live"] <= 1
    assert set(after) >= {"live", "peak", "accepted", "refused_quota", "max_sessions", "decoding_peak"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(emulator.url.replace("ws://", "http://") + "/nothing", timeout=5)
    assert refused.value.code == 404
