"""The caller's stream (a seekable blob reader, an HTTP body, a local file) as FFmpeg reads it, safely:

- ``read(n)`` never returns more than ``n`` bytes: PyAV copies the result into an n-byte native buffer
  unchecked, and the process aborts;
- the first exception a read raised wins over FFmpeg's "bad data" or "end of file", so a storage failure
  stays a transient ``StorageError``, not "unsupported audio" or a silently short transcript;
- a forward-only stream (an HTTP body) offers no ``seek``/``tell``, and its head, already read, is replayed.
"""

from __future__ import annotations

from typing import BinaryIO

import av.error

from shared.errors import StorageError, TranscriptionError

#: The first bytes kept for naming what a file is and for the WAV header's declared length.
HEAD_BYTES = 4096


class Source:
    """The caller's stream as PyAV sees it, keeping its first bytes and the first exception a read raised (not
    a failed seek: bad data can make FFmpeg seek to nonsense, the input's fault, not storage's)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.error: BaseException | None = None
        self._seekable = is_seekable(stream)
        try:
            self.head = self._read_head()
            if self._seekable:
                stream.seek(0)
        except Exception as exc:
            self.error = self.error or exc
            raise self.failure() from exc
        self._replay = b"" if self._seekable else self.head  # a forward-only stream replays its head
        if not self._seekable:
            self.seek = None  # PyAV treats a file without seek/tell as forward-only
            self.tell = None

    def _read_head(self) -> bytes:
        parts, remaining = [], HEAD_BYTES
        while remaining > 0:
            part = self._read(remaining)
            if not part:
                break
            parts.append(part[:remaining])
            remaining -= len(parts[-1])
        return b"".join(parts)

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except Exception as exc:
            if self.error is None:
                self.error = exc
            raise
        return data[:size] if data and len(data) > size else (data or b"")

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = HEAD_BYTES  # PyAV always asks for a size; never hand out an unbounded read
        if self._replay:
            part, self._replay = self._replay[:size], self._replay[size:]
            return part
        return self._read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def failure(self) -> TranscriptionError | None:
        """The stream's own error as the typed error to raise, if reading it failed."""
        error = self.error
        if error is None:
            return None
        if isinstance(error, TranscriptionError):
            return error
        return StorageError(f"reading the audio failed: {type(error).__name__}: {error}")

    def raise_if_unexpected(self, exc: Exception) -> None:
        """Raise the source's own error if a read failed; return if FFmpeg's failure just means bad data; raise
        anything else (a bug) as it is."""
        if (failure := self.failure()) is not None:
            raise failure from exc
        if not isinstance(exc, (av.error.FFmpegError, ValueError, EOFError, OSError)):
            raise exc


def is_seekable(stream: BinaryIO) -> bool:
    """Whether the caller's stream can go back (a blob reader, a file, bytes), not only forward."""
    try:
        return bool(stream.seekable()) if hasattr(stream, "seekable") else hasattr(stream, "seek")
    except (OSError, ValueError):
        return False
