"""The audio the SDK streams: a RIFF/WAVE header in the first frame, then raw PCM.

The real service accepts 16-bit PCM at 8-48 kHz, mono or stereo, and rejects the rest with a
1007 close (the SDK's BadRequest). The emulator does the same, so a client that sends the wrong
format fails here the way it would fail in Azure instead of getting a transcript of noise.
Whisper wants 16 kHz mono float, so phrases are down-mixed and resampled with numpy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

WHISPER_RATE = 16000
MIN_RATE = 8000
MAX_RATE = 48000
_FORMAT_PCM = 0x0001
_FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law", 0x0055: "MP3"}


class UnsupportedAudioError(ValueError):
    """Audio the service would refuse; the message is sent to the client as the close reason."""


@dataclass(frozen=True)
class PcmFormat:
    """What the RIFF header says about the samples that follow."""

    sample_rate: int
    channels: int
    bits_per_sample: int

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (all channels)."""
        return self.channels * self.bits_per_sample // 8


def parse_wav_header(data: bytes) -> tuple[PcmFormat, int]:
    """Format of a RIFF/WAVE header and the byte offset where its samples start.

    The SDK writes the header with zero sizes (it streams), so chunk sizes of the RIFF and
    ``data`` chunks are not trusted; only the ``fmt `` chunk must be complete.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise UnsupportedAudioError("audio must start with a RIFF/WAVE header (16-bit PCM)")
    pos = 12
    fmt: PcmFormat | None = None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"data":
            if fmt is None:
                raise UnsupportedAudioError("WAV data chunk before its fmt chunk")
            return fmt, body
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise UnsupportedAudioError("truncated WAV fmt chunk")
            fmt = _check_format(data[body : body + size])
        pos = body + size + (size & 1)
    raise UnsupportedAudioError("WAV header without a data chunk")


def _check_format(chunk: bytes) -> PcmFormat:
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", chunk)
    if tag == _FORMAT_EXTENSIBLE and len(chunk) >= 26:
        tag = struct.unpack_from("<H", chunk, 24)[0]  # first two bytes of the sub-format GUID
    if tag != _FORMAT_PCM:
        name = _FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise UnsupportedAudioError(f"unsupported audio format: {name}; only 16-bit PCM is accepted")
    if bits != 16:
        raise UnsupportedAudioError(f"unsupported audio format: {bits}-bit PCM; only 16-bit PCM is accepted")
    if channels not in (1, 2):
        raise UnsupportedAudioError(f"unsupported audio format: {channels} channels; 1 or 2 are accepted")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UnsupportedAudioError(f"unsupported sample rate {rate} Hz; {MIN_RATE}-{MAX_RATE} Hz are accepted")
    return PcmFormat(sample_rate=rate, channels=channels, bits_per_sample=bits)


class PcmDecoder:
    """Turns a turn's audio payloads into mono float samples at the stream's own rate.

    Websocket frames need not end on a sample boundary, so a partial sample frame is kept for
    the next payload instead of being dropped (which would shift every later offset).
    """

    def __init__(self) -> None:
        self.format: PcmFormat | None = None
        self._partial = b""

    def decode(self, payload: bytes) -> np.ndarray:
        """Mono float32 samples in [-1, 1) from the next payload (the first carries the header)."""
        if self.format is None:
            self.format, start = parse_wav_header(payload)
            payload = payload[start:]
        data = self._partial + payload
        usable = len(data) - len(data) % self.format.frame_bytes
        self._partial = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
        if self.format.channels > 1:
            samples = samples.reshape(-1, self.format.channels).mean(axis=1)
        return samples


def resample(samples: np.ndarray, rate: int, target: int = WHISPER_RATE) -> np.ndarray:
    """Band-limited resampling of one phrase by zero-padding or truncating its spectrum.

    Phrases are short (seconds), so one FFT each is cheap, and doing whole phrases avoids the
    block-edge artefacts of resampling a stream piecewise.
    """
    if rate == target or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    out_len = max(1, round(len(samples) * target / rate))
    spectrum = np.fft.rfft(samples.astype(np.float64))
    resized = np.zeros(out_len // 2 + 1, dtype=np.complex128)
    keep = min(len(spectrum), len(resized))
    resized[:keep] = spectrum[:keep]
    return (np.fft.irfft(resized, out_len) * (out_len / len(samples))).astype(np.float32)
