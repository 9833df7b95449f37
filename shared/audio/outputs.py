"""The PCM outputs of a decoder (the mix, or one per channel) and the ``PcmReader`` each Speech session reads.

In separate mode one packet feeds every channel, so a fast session would grow a slow one's buffer towards
the whole file: a reader ``MAX_AHEAD_BYTES`` ahead of another waits for it (``waits_for_others``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.audio.pcm import BYTES_PER_SECOND, SAMPLE_RATE

if TYPE_CHECKING:
    from shared.audio.decoder import AudioDecoder

CHUNK_BYTES = BYTES_PER_SECOND // 10
#: In separate mode one channel's session may run this far ahead of another's before it waits.
MAX_AHEAD_BYTES = 30 * BYTES_PER_SECOND


@dataclass
class Output:
    """One PCM output: the mix, or one channel. ``start`` is the read position inside ``buffer``."""

    buffer: bytearray = field(default_factory=bytearray)
    start: int = 0
    sent_bytes: int = 0
    closed: bool = False

    @property
    def buffered(self) -> int:
        return len(self.buffer) - self.start

    def take(self, size: int) -> bytes:
        """Up to ``size`` buffered bytes, counted as sent; the buffer is compacted as it drains."""
        data = bytes(self.buffer[self.start : self.start + size])
        self.start += len(data)
        if self.start == len(self.buffer):
            self.buffer.clear()
            self.start = 0
        elif self.start > 65536 and self.start * 2 > len(self.buffer):
            del self.buffer[: self.start]
            self.start = 0
        self.sent_bytes += len(data)
        return data

    def close(self) -> None:
        """Nobody reads this output any more: drop what it holds; the decoder stops filling it."""
        self.closed = True
        self.buffer = bytearray()
        self.start = 0


def waits_for_others(out: Output, outputs: list[Output]) -> bool:
    """Whether ``out``'s reader must wait: another open output holds ``MAX_AHEAD_BYTES`` not yet read."""
    return any(o.buffered >= MAX_AHEAD_BYTES for o in outputs if o is not out and not o.closed)


class PcmReader:
    """16 kHz 16-bit mono PCM from one output of an ``AudioDecoder``, read on demand."""

    sample_rate = SAMPLE_RATE

    def __init__(self, decoder: AudioDecoder, index: int) -> None:
        self.decoder = decoder
        self.index = index

    @property
    def label(self) -> str:
        """The speaker label this output stands for in separate mode."""
        return f"Channel-{self.index + 1}"

    @property
    def seconds_read(self) -> float:
        """Seconds of audio handed out so far (sent to the service)."""
        return self.decoder.outputs[self.index].sent_bytes / BYTES_PER_SECOND

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of PCM (a whole number of samples); ``b""`` only at the end."""
        return self.decoder.read_output(self.index, max_bytes)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk

    def close(self) -> None:
        """This output is no longer read (its session ended): stop buffering for it."""
        self.decoder.close_output(self.index)
