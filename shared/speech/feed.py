"""The audio a session sends: a pull-stream callback that reads PCM on demand and holds the SDK back.

Audio reaches the SDK through a *pull* stream, not a push stream: the SDK asks for at most n bytes
when it is ready to send them, and the callback decodes just enough to answer (``shared.audio``), so
a long recording is fetched and decoded at the SDK's pace. A push stream accepts writes as fast as we
make them and buffers them inside the SDK.

The SDK keeps every byte it has sent until the service has answered for it. Sent fast, a long file
would have minutes of audio waiting there (measured: +17 MiB for a 5-minute file, all of it sent in
seconds). So the callback also holds the SDK back: it answers only while the audio sent is less than
``MAX_LEAD_SECONDS`` ahead of what the service has answered for, or of 10× real time (``FLOOR_PACE``),
whichever is further. Memory then stays the same for a 1-minute and a 2-hour recording, and a service
that is silent for a while (long silence in the audio) still gets audio at ten times live pace.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import azure.cognitiveservices.speech as speechsdk

from shared.audio import PcmReader

#: How far the audio sent may run ahead of what the service has answered for (or of ``FLOOR_PACE``).
MAX_LEAD_SECONDS = 30.0
#: The floor's pace, as a multiple of real time: silence gets no answers from the service, so a sparse
#: recording held to real time would take as long as it lasts.
FLOOR_PACE = 10.0
#: How often a held-back read checks again.
_LEAD_POLL_SECONDS = 0.02


class PacedPcmFeed(speechsdk.audio.PullAudioInputStreamCallback):
    """Feeds the SDK from a ``PcmReader``; an error while reading ends the stream and is kept.

    ``answered()`` gives the seconds of audio the service has answered for; reads wait while the audio
    sent is ``lead_seconds`` ahead of both that and ``FLOOR_PACE`` × the time since the first read
    (back-pressure).
    """

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
        """Fill ``buffer`` from the PCM reader (called on the SDK's audio thread); 0 ends the stream.

        Nothing may raise from here: an exception would escape into the SDK's native thread, so a read
        error is kept in ``error`` for the session to raise on the invocation's own thread.
        """
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
