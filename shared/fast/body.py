"""The request's ``multipart/form-data`` body, read by the transport as it sends: the ``definition`` part, then
the recording itself from its stream (a blob's ranged reads), never held whole.

Its length is known before the first byte (the parts' heads plus the stream's size), so it goes with a
``Content-Length``, no chunked encoding. ``requests`` sizes a body by ``len()`` less ``tell()``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from shared.errors import StorageError
from shared.platform.deadlines import DeadlineExceeded

#: What one ``read`` hands the transport at most: urllib3 asks for 16 KiB at a time.
READ_BYTES = 64 * 1024


class MultipartBody:
    """``definition`` and ``audio`` parts over ``source``, which must hold exactly ``size`` bytes from where it is.

    ``read`` raises ``DeadlineExceeded`` past ``deadline`` (``time.monotonic()``): an endpoint that reads the
    upload slowly cannot stretch the request past its bound.
    """

    def __init__(self, definition: bytes, source: BinaryIO, size: int, *, filename: str, deadline: float) -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="definition"\r\n'
            "Content-Type: application/json\r\n\r\n".encode()
            + definition
            + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._source, self._size, self._deadline = source, size, deadline
        self._length = len(self._head) + size + len(self._tail)
        self.sent = 0

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        return self.sent

    def read(self, size: int = -1) -> bytes:
        """The next ``size`` bytes (at most ``READ_BYTES``); ``b""`` at the end."""
        if time.monotonic() > self._deadline:
            raise DeadlineExceeded("the upload did not finish within its bound")
        size = READ_BYTES if size is None or size < 0 else min(size, READ_BYTES)
        head_end, audio_end = len(self._head), len(self._head) + self._size
        if self.sent < head_end:
            part = self._head[self.sent : self.sent + size]
        elif self.sent < audio_end:
            part = self._source.read(min(size, audio_end - self.sent))
            if not part:
                raise StorageError(f"the audio ended after {self.sent - head_end} of its {self._size} bytes")
        else:
            part = self._tail[self.sent - audio_end : self.sent - audio_end + size]
        self.sent += len(part)
        return part

    def __iter__(self) -> Iterator[bytes]:
        while part := self.read(READ_BYTES):
            yield part
