"""The PCM the Speech SDK is fed (16 kHz 16-bit signed little-endian: mono, or a plane per channel), and the
conversion of decoded frames into it.

A stream may change its rate or layout part-way: the resampler is then flushed and started anew, and a frame
it cannot convert is counted as damage. It holds samples back, so it is flushed at the end too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import av
import av.error

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext

SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2


class Resampler:
    """Decoded frames as 16 kHz s16 frames: mono (``channels_of=None``), or a plane per channel of the decoder
    ``channels_of`` (its layout read anew with each resampler, as it may change mid-stream)."""

    def __init__(self, channels_of: AudioCodecContext | None) -> None:
        self._channels_of = channels_of
        self._resampler: av.AudioResampler | None = None

    def resample(self, frame: av.AudioFrame) -> list[av.AudioFrame] | None:
        """``frame`` converted; ``None`` for one FFmpeg cannot convert (damaged data can claim any rate)."""
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
