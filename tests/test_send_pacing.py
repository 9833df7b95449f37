"""The pull callback holds the SDK back: audio sent stays within a lead of what the service answered for.

Without it the SDK sends a long file in seconds and keeps every unanswered byte (docs/performance.md).
These drive ``PacedPcmFeed.read`` the way the SDK's audio thread does, on a real decoder.
"""

from __future__ import annotations

import io
import threading
import time

from shared.audio import BYTES_PER_SECOND, AudioDecoder
from shared.speech.feed import PacedPcmFeed
from tests.test_audio import wav_bytes

TEN_SECONDS = b"\x10\x00" * 16000 * 10


def send(callback: PacedPcmFeed, seconds: float) -> float:
    """Read as the SDK does until ``seconds`` of audio have been sent; how long that took."""
    started = time.monotonic()
    chunk = memoryview(bytearray(BYTES_PER_SECOND // 10))
    while callback.pcm.seconds_read < seconds:
        assert callback.read(chunk) > 0
    return time.monotonic() - started


def read_in_thread(callback: PacedPcmFeed, nbytes: int) -> tuple[threading.Thread, list]:
    got: list = []

    def read() -> None:
        buffer = memoryview(bytearray(nbytes))
        got.append((callback.read(buffer), time.monotonic()))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_a_read_waits_until_the_service_catches_up():
    answered = [5.0]
    with AudioDecoder(io.BytesIO(wav_bytes(TEN_SECONDS))) as decoder:
        callback = PacedPcmFeed(decoder.readers[0], answered=lambda: answered[0], lead_seconds=1.0)
        assert send(callback, 6.0) < 0.5  # within 1 s of what is answered: no waiting

        thread, got = read_in_thread(callback, BYTES_PER_SECOND)
        thread.join(0.3)
        assert thread.is_alive(), "6 s sent, 5 s answered, lead 1 s: the read must wait"
        released = time.monotonic()
        answered[0] = 5.5  # the service answers for more
        thread.join(2)
        assert got
        assert got[0][0] > 0
        assert got[0][1] - released < 0.5
        assert callback.held_seconds >= 0.3


def test_a_silent_service_still_gets_audio_at_real_time():
    with AudioDecoder(io.BytesIO(wav_bytes(TEN_SECONDS))) as decoder:
        callback = PacedPcmFeed(decoder.readers[0], answered=lambda: 0.0, lead_seconds=0.5)
        # 6 s sent with a 0.5 s lead and no answers: paced at FLOOR_PACE x real time (~0.55 s), never stuck.
        assert 0.3 < send(callback, 6.0) < 3.0


def test_closing_releases_a_held_read():
    with AudioDecoder(io.BytesIO(wav_bytes(TEN_SECONDS))) as decoder:
        callback = PacedPcmFeed(decoder.readers[0], answered=lambda: 4.0, lead_seconds=5.0)
        send(callback, 9.0)
        thread, got = read_in_thread(callback, BYTES_PER_SECOND)
        thread.join(0.2)
        assert thread.is_alive()
        callback.close()
        thread.join(1)
        assert got
        assert got[0][0] == 0
