"""A seekable, read-only file over one blob: ranged downloads pinned to the ETag it started with.

The decoder (``shared.audio``) needs a file it can seek in: phones write m4a/mp4/3gp with the index
(``moov``) at the end, and FFmpeg reads the head, jumps to the end for the index, then comes back for
the samples. ``download_blob()`` with defaults cannot do that (its downloader is forward-only and
fetches the first 32 MiB into memory at once), so this reader asks for one aligned window (1 MiB) at
a time and keeps the last two, plus the blob's last window once it has been read: demuxers
read the head, jump to the tail (the ``moov`` index, Ogg's last page, MP3 tags) and come back, and
then read front to back into that tail again. So each window is fetched once (with one window
cached, moov-at-end files were measured at up to 1.6x their size; with two and no kept tail, one
window more than the file).

Every request carries the ETag with ``IfNotModified``: a blob replaced while it is read fails the read
with a ``StorageError`` instead of splicing two files together.

``read(n)`` never returns more than ``n`` bytes. PyAV copies whatever ``read`` returns into an
n-byte native buffer without checking the length; returning more overflows that buffer and aborts
the process.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from typing import TYPE_CHECKING

from shared.errors import StorageError
from shared.platform.storage import storage_error

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

#: Bytes per ranged request. Each window costs about three times its size while it is fetched (the
#: response, the downloader's buffer, the bytes kept) besides the three held, so the window sets how far
#: a long recording's peak memory sits above a short one's: measured, 1-minute vs 5-minute WAV peak RSS
#: +6.3 MiB with 2 MiB windows, +10.5 MiB with 4 MiB, +1.4 MiB with 1 MiB. 1 MiB is still few requests:
#: about 55 for a 2-hour mp3, 220 for a 2-hour WAV.
WINDOW_BYTES = 1024 * 1024
#: Windows kept besides the blob's last one: the one being read and the one before (a read can span both).
CACHED_WINDOWS = 2


class BlobReader(io.RawIOBase):
    """``BlobReader(blob, etag=props.etag, size=props.size)``: a seekable binary file over the blob.

    ``requests`` and ``bytes_fetched`` count what was downloaded (for tests and benchmarks).
    """

    def __init__(self, blob: BlobClient, *, etag: str, size: int, window: int | None = None) -> None:
        super().__init__()
        window = window or WINDOW_BYTES
        if window <= 0:
            raise ValueError("window must be positive")
        self._blob = blob
        self._etag = etag
        self.size = size
        self._window = window
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()  # window index -> its bytes, oldest first
        self._tail: bytes | None = None  # the blob's last window, kept once read
        self.requests = 0
        self.bytes_fetched = 0

    @property
    def name(self) -> str:
        return self._blob.blob_name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._pos + offset
        elif whence == os.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise OSError(f"cannot seek to {target}, before the start of the blob")
        self._pos = target
        return target

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all the rest if ``size`` < 0); never more."""
        if size is None or size < 0:
            return self.readall()
        parts = []
        while size > 0 and self._pos < self.size:
            index, start = divmod(self._pos, self._window)
            part = self._window_bytes(index)[start : start + size]
            if not part:
                break  # the blob was shorter than its properties said
            parts.append(part)
            self._pos += len(part)
            size -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        part = self.read(len(view))
        view[: len(part)] = part
        return len(part)

    def readall(self) -> bytes:
        return self.read(max(self.size - self._pos, 0))

    def _window_bytes(self, index: int) -> bytes:
        last = (self.size - 1) // self._window
        if index == last and self._tail is not None:
            return self._tail
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        data = self._fetch(index * self._window, min(self._window, self.size - index * self._window))
        if index == last:
            self._tail = data
            return data
        self._cache[index] = data
        while len(self._cache) > CACHED_WINDOWS:
            self._cache.popitem(last=False)
        return data

    def _what_became_of_it(self) -> str:
        """``replaced`` or ``deleted``: the ETag no longer matches, or the blob is gone."""
        from azure.core.exceptions import AzureError

        try:
            return "replaced" if self._blob.exists() else "deleted"
        except AzureError:
            return "replaced or deleted"

    def _fetch(self, offset: int, length: int) -> bytes:
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError

        try:
            data = self._blob.download_blob(
                offset=offset, length=length, etag=self._etag,
                match_condition=MatchConditions.IfNotModified, max_concurrency=1,
            ).readall()
        except (ResourceModifiedError, ResourceNotFoundError):
            raise StorageError(f"blob {self._blob.blob_name} was {self._what_became_of_it()} while it was being read"
                               ) from None
        except AzureError as exc:
            raise storage_error(f"reading blob {self._blob.blob_name}", exc) from None
        self.requests += 1
        self.bytes_fetched += len(data)
        if len(data) < length:  # shorter than its properties said, yet the ETag held: never spin on it
            self.size = offset + len(data)
        return data
