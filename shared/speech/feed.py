"""The audio a session sends: a pull-stream callback that reads PCM as the SDK asks and holds the SDK back.

A pull stream, not a push stream, so a long recording is fetched and decoded at the SDK's pace. The SDK
keeps every byte until the service has answered for it, so reads wait while the audio sent is
``MAX_LEAD_SECONDS`` ahead of the answers (or of ``FLOOR_PACE``): memory stays the same however long the
recording (docs/performance.md, section 3).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import azure.cognitiveservices.speech as speechsdk

from shared.audio import PcmReader

#: How far the audio sent may run ahead of what the service has answered for (or of ``FLOOR_PACE``).
MAX_LEAD_SECONDS = 30.0
#: The floor's pace, × real time: silence gets no answers, and a sparse recording must not go at live pace.
FLOOR_PACE = 10.0
_LEAD_POLL_SECONDS = 0.02


class PacedPcmFeed(speechsdk.audio.PullAudioInputStreamCallback):
    """Feeds the SDK from a ``PcmReader``; an error while reading ends the stream and is kept. ``answered()``
    gives the seconds of audio the service has answered for."""

    def __init__(
        self, pcm: PcmReader, answered: Callable[[], float] | None = None, lead_seconds: float = MAX_LEAD_SECONDS
    ) -> None:
        super().__init__()
        self.pcm: PcmReader | None = pcm
        self.error: BaseException | None = None
        self.last_read = time.monotonic()
        #: True while a read of the source is in progress (a storage request may take its time).
        self.reading = False
        self._answered = answered
        self._lead = lead_seconds
        self._first_read: float | None = None
        #: Seconds this callback spent holding the SDK back (reported with the progress).
        self.held_seconds = 0.0

    def _hold_while_ahead(self, pcm: PcmReader) -> None:
        """Wait (on the SDK's audio thread) until the service has caught up to within the lead."""
        if self._answered is None:
            return
        now = time.monotonic()
        if self._first_read is None:
            self._first_read = now
        waited_from = now
        while self.pcm is pcm and self.error is None:
            live_pace = (time.monotonic() - self._first_read) * FLOOR_PACE
            if pcm.seconds_read < max(self._answered(), live_pace) + self._lead:
                break
            time.sleep(_LEAD_POLL_SECONDS)
        self.held_seconds += time.monotonic() - waited_from

    def read(self, buffer: memoryview) -> int:
        """Fill ``buffer`` from the PCM reader; 0 ends the stream. Never raises: this runs on the SDK's native
        thread, so a read error is kept in ``error`` for the session to raise."""
        pcm = self.pcm
        if pcm is None or self.error is not None:
            return 0
        self._hold_while_ahead(pcm)
        if self.pcm is not pcm or self.error is not None:
            return 0  # closed while held back
        self.reading = True
        try:
            data = pcm.read(buffer.nbytes)
        except BaseException as exc:  # noqa: BLE001 - must not escape into the native thread
            self.error = exc
            return 0
        finally:
            self.reading = False
            self.last_read = time.monotonic()
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """End the stream and close the reader; a read being held back returns 0 (end of stream) at its next poll."""
        pcm, self.pcm = self.pcm, None
        if pcm is not None:
            pcm.close()  # its session is over: the decoder stops buffering audio for it
