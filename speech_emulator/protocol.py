"""USP framing: the message envelope the Speech SDK speaks over its websocket.

Text frames are ``Header:value`` lines, a blank line, then a JSON body. Binary (audio) frames
start with a 2-byte big-endian header length, then the same header lines, then the payload; an
audio frame with an empty payload ends the turn's audio. Every reply must echo the client's
``X-RequestId``: the SDK drops messages whose request id does not match its current turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class ProtocolError(ValueError):
    """A frame the emulator cannot parse; the session closes with 1007 (the SDK's BadRequest)."""


@dataclass(frozen=True)
class TextMessage:
    """A client text frame (``speech.config``, ``speech.context``, ``telemetry``, ...)."""

    path: str
    request_id: str | None
    body: str

    def json(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty or not an object)."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"{self.path}: body is not JSON: {exc}") from exc
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class AudioMessage:
    """A client binary frame: ``payload`` is audio bytes; empty means end of the turn's audio."""

    path: str
    request_id: str | None
    payload: bytes


def _parse_headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_text(frame: str) -> TextMessage:
    """Split a text frame into its path, request id and body."""
    head, sep, body = frame.partition("\r\n\r\n")
    if not sep:
        raise ProtocolError("text frame without the blank line that ends its headers")
    headers = _parse_headers(head)
    return TextMessage(path=headers.get("path", ""), request_id=headers.get("x-requestid"), body=body)


def parse_binary(frame: bytes) -> AudioMessage:
    """Split a binary frame into its path, request id and payload."""
    if len(frame) < 2:
        raise ProtocolError("binary frame shorter than its 2-byte header length")
    size = int.from_bytes(frame[:2], "big")
    if len(frame) < 2 + size:
        raise ProtocolError("binary frame shorter than the header length it declares")
    try:
        headers = _parse_headers(frame[2 : 2 + size].decode("ascii"))
    except UnicodeDecodeError as exc:
        raise ProtocolError("binary frame headers are not ASCII") from exc
    return AudioMessage(path=headers.get("path", ""), request_id=headers.get("x-requestid"), payload=frame[2 + size :])


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(path: str, request_id: str, body: dict[str, Any]) -> str:
    """A server text frame for ``path`` answering the turn ``request_id``."""
    return (
        f"X-RequestId:{request_id}\r\nPath:{path}\r\nX-Timestamp:{_timestamp()}\r\n"
        f"Content-Type:application/json; charset=utf-8\r\n\r\n{json.dumps(body, separators=(',', ':'))}"
    )
