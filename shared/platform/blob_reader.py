"""A seekable, read-only file over one blob: aligned ranged downloads, each pinned to the blob's ETag.

FFmpeg seeks (to an m4a's ``moov`` index at the end, Ogg's last page, MP3 tags, and back), which
``download_blob()``'s forward-only downloader cannot. The last two windows and the blob's last one are
kept, so each window is fetched once; a blob replaced mid-read fails as ``StorageError``, never spliced.

``read(n)`` never returns more than ``n`` bytes: PyAV copies the result into an n-byte native buffer
unchecked, and more aborts the process.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from typing import TYPE_CHECKING

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError

from shared.errors import StorageError
from shared.platform.storage import storage_error

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

#: Bytes per ranged request: it sets how far a long recording's peak memory sits above a short one's
#: (docs/performance.md, section 3), and 1 MiB is still few requests.
WINDOW_BYTES = 1024 * 1024
#: Windows kept besides the blob's last one: the one being read and the one before (a read can span both).
CACHED_WINDOWS = 2


class BlobReader(io.RawIOBase):
    """``BlobReader(blob, etag=props.etag, size=props.size)``; ``requests`` and ``bytes_fetched`` count downloads."""

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
        try:
            return "replaced" if self._blob.exists() else "deleted"
        except AzureError:
            return "replaced or deleted"

    def _fetch(self, offset: int, length: int) -> bytes:
        try:
            data = self._blob.download_blob(
                offset=offset,
                length=length,
                etag=self._etag,
                match_condition=MatchConditions.IfNotModified,
                max_concurrency=1,
            ).readall()
        except (ResourceModifiedError, ResourceNotFoundError):
            raise StorageError(
                f"blob {self._blob.blob_name} was {self._what_became_of_it()} while it was being read"
            ) from None
        except AzureError as exc:
            raise storage_error(f"reading blob {self._blob.blob_name}", exc) from None
        self.requests += 1
        self.bytes_fetched += len(data)
        if len(data) < length:  # shorter than its properties said, yet the ETag held: never spin on it
            self.size = offset + len(data)
        return data
