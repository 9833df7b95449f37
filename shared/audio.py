"""Audio input: validate a WAV/PCM stream and hand its samples on in small chunks.

Nothing here holds a whole file: the header is parsed from the first bytes and the samples are read
chunk by chunk from whatever file-like object the caller has (a ranged blob reader, an HTTP body,
a local file), so memory stays flat however long the recording. Other formats get their own decoder
(issue 8); until then they fail with a clear ``UnsupportedAudioError`` that says what was found.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from shared.errors import UnsupportedAudioError

with warnings.catch_warnings():
    # audioop is deprecated from 3.11 and gone in 3.13; the Functions runtime here is 3.11 and
    # the PyAV decoder (issue 8) replaces this mix-down.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

#: Read size for samples: 100 ms of 48 kHz stereo, small enough that memory never grows with length.
CHUNK_BYTES = 19_200

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # streamed WAVs leave the data size unset

_SIGNATURES = [
    (b"ID3", "MP3 (ID3 tag)"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"OggS", "Ogg"),
    (b"fLaC", "FLAC"),
    (b"\x1a\x45\xdf\xa3", "WebM/Matroska"),
    (b"#!AMR", "AMR"),
    (b"%PDF", "PDF document"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"PK\x03\x04", "ZIP archive"),
]


@dataclass(frozen=True)
class WavFormat:
    """The stream as the WAV header declares it."""

    sample_rate: int
    channels: int
    bits_per_sample: int
    data_bytes: int | None  # None when the header does not say (streamed WAV)

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * self.bits_per_sample // 8

    @property
    def declared_seconds(self) -> float | None:
        return None if self.data_bytes is None else self.data_bytes / self.bytes_per_second


def read_exact(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes or fewer at end of stream, looping over short reads."""
    parts = []
    remaining = size
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def describe_bytes(head: bytes) -> str:
    """A human name for what the first bytes look like, for error messages."""
    if not head:
        return "an empty file"
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "MP4/M4A"
    for prefix, name in _SIGNATURES:
        if head.startswith(prefix):
            return name
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head[:64]):
        return "text"
    return f"unrecognised data (starts with {head[:8].hex()})"


def read_wav_header(stream: BinaryIO) -> WavFormat:
    """Parse RIFF/WAVE chunks up to the start of the samples; the stream is left there."""
    head = read_exact(stream, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UnsupportedAudioError(
            f"expected a WAV (RIFF/WAVE) file, found {describe_bytes(head)}; "
            "only WAV with 16-bit PCM is supported so far"
        )
    fmt: WavFormat | None = None
    while True:
        chunk_head = read_exact(stream, 8)
        if len(chunk_head) < 8:
            raise UnsupportedAudioError("corrupt WAV: no data chunk" if fmt else "corrupt WAV: no fmt chunk")
        chunk_id, size = chunk_head[:4], struct.unpack("<I", chunk_head[4:])[0]
        if chunk_id == b"fmt ":
            body = read_exact(stream, size + (size & 1))
            fmt = _parse_fmt(body[:size])
        elif chunk_id == b"data":
            if fmt is None:
                raise UnsupportedAudioError("corrupt WAV: data chunk before fmt chunk")
            return WavFormat(fmt.sample_rate, fmt.channels, fmt.bits_per_sample,
                             None if size in _UNKNOWN_SIZES else size)
        else:
            if size > 16 * 1024 * 1024:
                raise UnsupportedAudioError(f"corrupt WAV: chunk {chunk_id!r} claims {size} bytes")
            skipped = read_exact(stream, size + (size & 1))
            if len(skipped) < size:
                raise UnsupportedAudioError("corrupt WAV: ends inside a header chunk")


def _parse_fmt(body: bytes) -> WavFormat:
    if len(body) < 16:
        raise UnsupportedAudioError("corrupt WAV: fmt chunk too short")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if tag != _WAVE_FORMAT_PCM:
        raise UnsupportedAudioError(f"WAV encoding 0x{tag:04x} is not PCM; only 16-bit PCM WAV is supported so far")
    if bits != 16:
        raise UnsupportedAudioError(f"WAV is {bits}-bit PCM; only 16-bit PCM is supported so far")
    if channels not in (1, 2):
        raise UnsupportedAudioError(f"WAV has {channels} channels; mono or stereo is supported")
    if not 8000 <= rate <= 48000:
        raise UnsupportedAudioError(f"WAV sample rate {rate} Hz is outside 8000-48000 Hz")
    return WavFormat(rate, channels, bits, None)


class PcmReader:
    """Mono 16-bit samples from a WAV stream, read on demand; counts what it has produced.

    Stereo is mixed down (equal weights) so the transcriber hears both sides of a call.
    ``truncated`` tells whether the file ended before its header's declared length.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.format = read_wav_header(stream)
        self._stream = stream
        self._remaining = self.format.data_bytes
        self._frame = self.format.channels * 2
        self._carry = b""
        self.mono_bytes = 0
        self.ended = False

    @property
    def sample_rate(self) -> int:
        return self.format.sample_rate

    @property
    def seconds_read(self) -> float:
        return self.mono_bytes / (2 * self.format.sample_rate)

    @property
    def truncated(self) -> bool:
        return self.ended and bool(self._remaining)

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of mono PCM (a whole number of samples); ``b""`` only at the end."""
        while not self.ended:
            want = max(2, max_bytes - max_bytes % 2) * self.format.channels
            if self._remaining is not None:
                want = min(want, self._remaining)
            fresh = self._stream.read(want - len(self._carry)) if want > len(self._carry) else b""
            raw = self._carry + fresh
            usable = len(raw) - len(raw) % self._frame
            raw, self._carry = raw[:usable], raw[usable:]
            if self._remaining is not None:
                self._remaining -= usable
            if not fresh or (self._remaining is not None and self._remaining <= 0):
                self.ended = True  # end of stream, or of the declared data
            if raw:
                if self.format.channels == 2:
                    raw = audioop.tomono(raw, 2, 0.5, 0.5)
                self.mono_bytes += len(raw)
                return raw
        return b""

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk
