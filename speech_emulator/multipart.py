"""``multipart/form-data`` read as it arrives: file parts spooled to disk, small fields kept in memory.

Fast transcription takes the recording as a multipart upload of up to 300 MB. The standard library's
parsers (``email``) want the whole body first; here the body is scanned chunk by chunk for the boundary,
each part's bytes go straight to its sink, and no more than a chunk plus a boundary is ever buffered.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import BinaryIO

#: A field that is not a file (the ``definition`` JSON) may not be larger than this.
FIELD_LIMIT = 1024 * 1024
#: Part headers are a few lines.
_HEADERS_LIMIT = 16 * 1024


class FormError(ValueError):
    """The body is not the multipart form it claims to be (a 400 for the client)."""


@dataclass
class Part:
    """One form field: a file on disk (``path``) or a small value in memory (``data``)."""

    name: str
    filename: str | None = None
    content_type: str | None = None
    path: Path | None = None
    data: bytes = b""
    size: int = 0
    _file: BinaryIO | None = field(default=None, repr=False)
    _buffer: bytearray = field(default_factory=bytearray, repr=False)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        if self.size > FIELD_LIMIT:
            raise FormError(f"form field {self.name!r} is larger than {FIELD_LIMIT} bytes")
        self._buffer += data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.data = bytes(self._buffer)


def boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` content type; FormError for anything else."""
    message = Message()
    message["Content-Type"] = content_type or ""
    value = message.get_param("boundary")
    if message.get_content_type() != "multipart/form-data" or not isinstance(value, str) or not value:
        raise FormError("Content-Type must be multipart/form-data with a boundary")
    return value.encode("latin-1")


async def read_form(
    chunks: AsyncIterator[bytes], content_type: str | None, folder: Path, *, files: tuple[str, ...] = ()
) -> dict[str, Part]:
    """The form's parts by name; parts with a filename, and those named in ``files``, are written into ``folder``."""
    parser = _Parser(boundary(content_type), folder, files)
    try:
        async for chunk in chunks:
            parser.feed(chunk)
        parser.finish()
    finally:
        parser.close()
    return parser.parts


class _Parser:
    """States: preamble → (after a delimiter) → headers → body → (after a delimiter) ... → done."""

    def __init__(self, boundary: bytes, folder: Path, files: tuple[str, ...]) -> None:
        self._files = files
        self._delimiter = b"\r\n--" + boundary
        self._buffer = bytearray(b"\r\n")  # the first delimiter has no line break before it
        self._state = "preamble"
        self._folder = folder
        self._part: Part | None = None
        self.parts: dict[str, Part] = {}

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._step():
            pass

    def finish(self) -> None:
        if self._state != "done":
            raise FormError("multipart body ended before its closing boundary")

    def close(self) -> None:
        if self._part is not None:
            self._part.close()

    def _step(self) -> bool:
        if self._state in ("preamble", "body"):
            return self._to_delimiter()
        if self._state == "delimiter":
            return self._after_delimiter()
        if self._state == "headers":
            return self._headers()
        self._buffer.clear()  # done: an epilogue is ignored
        return False

    def _to_delimiter(self) -> bool:
        at = self._buffer.find(self._delimiter)
        if at < 0:
            keep = len(self._delimiter)
            if len(self._buffer) > keep:
                if self._part is not None:
                    self._part.write(bytes(self._buffer[:-keep]))
                del self._buffer[:-keep]
            return False
        if self._part is not None:
            self._part.write(bytes(self._buffer[:at]))
            self._part.close()
            self._part = None
        del self._buffer[: at + len(self._delimiter)]
        self._state = "delimiter"
        return True

    def _after_delimiter(self) -> bool:
        if len(self._buffer) < 2:
            return False
        if self._buffer[:2] == b"--":
            self._state = "done"
            return True
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > _HEADERS_LIMIT:
                raise FormError("malformed multipart delimiter")
            return False
        if self._buffer[:end].strip(b" \t"):
            raise FormError("malformed multipart delimiter")
        del self._buffer[: end + 2]
        self._state = "headers"
        return True

    def _headers(self) -> bool:
        if self._buffer.startswith(b"\r\n"):
            end, skip = 0, 2  # a part without headers
        else:
            end, skip = self._buffer.find(b"\r\n\r\n"), 4
        if end < 0:
            if len(self._buffer) > _HEADERS_LIMIT:
                raise FormError("multipart part headers too long")
            return False
        headers = HeaderParser().parsestr(self._buffer[:end].decode("utf-8", "replace"))
        del self._buffer[: end + skip]
        self._part = self._open(headers)
        self._state = "body"
        return True

    def _open(self, headers: Message) -> Part:
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise FormError("multipart part without a Content-Disposition name")
        part = Part(name=name, filename=headers.get_filename(), content_type=headers.get("Content-Type"))
        if part.filename is not None or name in self._files:
            handle = tempfile.NamedTemporaryFile(dir=self._folder, prefix="part-", delete=False)  # noqa: SIM115
            part.path, part._file = Path(handle.name), handle
        self.parts[name] = part
        return part
