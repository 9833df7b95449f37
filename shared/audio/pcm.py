"""The PCM the Speech SDK is fed, and the conversion of decoded frames into it.

Whatever the input's rate, layout and sample format, the SDK gets 16 kHz 16-bit signed little-endian
audio: one mono stream (every channel mixed down), or in separate mode one plane per channel.

Traps this module exists to avoid:

- A stream may change its rate or channel layout part-way (damaged data can claim anything); the
  resampler then refuses the frame. The old resampler is flushed and a new one started, and a frame
  FFmpeg cannot convert at all is counted as damage (``None``) instead of ending the transcription.
- The resampler holds samples back: it must be flushed at the end, or the last samples are lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import av
import av.error

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext

#: What the Speech SDK is fed: 16 kHz, 16-bit signed little-endian, one channel per stream.
SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2


class Resampler:
    """Decoded frames as 16 kHz s16 frames: mono, or planar with one plane per channel.

    ``channels_of`` is ``None`` to mix every channel down to mono; otherwise the decoder whose channel
    layout the planes keep (read when a resampler is started, as the layout may change mid-stream).
    """

    def __init__(self, channels_of: AudioCodecContext | None) -> None:
        self._channels_of = channels_of
        self._resampler: av.AudioResampler | None = None

    def resample(self, frame: av.AudioFrame) -> list[av.AudioFrame] | None:
        """``frame`` converted; ``None`` for a frame FFmpeg cannot convert (damaged data can claim any
        rate or layout).
        """
        try:
            if self._resampler is None:
                self._resampler = self._new()
            try:
                return self._resampler.resample(frame)
            except ValueError:
                # The stream changed its rate or layout mid-way: finish the old resampler, start anew.
                tail = self.flush()
                self._resampler = self._new()
                return tail + self._resampler.resample(frame)
        except (av.error.FFmpegError, ValueError):
            self._resampler = None
            return None

    def flush(self) -> list[av.AudioFrame]:
        """The samples the resampler still holds; the next frame starts a new one."""
        resampler, self._resampler = self._resampler, None
        if resampler is None:
            return []
        try:
            return resampler.resample(None)
        except (av.error.FFmpegError, ValueError):
            return []

    def _new(self) -> av.AudioResampler:
        if self._channels_of is None:
            return av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        return av.AudioResampler(format="s16p", layout=self._channels_of.layout, rate=SAMPLE_RATE)
