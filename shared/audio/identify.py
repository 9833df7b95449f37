"""Naming what the input is, from its first bytes and from what its container declares, so users are told
what their file turned out to be ("found PNG image"), not an FFmpeg message.

FFmpeg trims a truncated WAV's duration to the bytes present, so the header's own length is read here; and
for containers with no length field (raw AMR, ADTS AAC) its duration is a guess, never reported as declared.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream

#: Demuxers allowed to open user input; FFmpeg would also open playlists that fetch the files or URLs they name.
CONTAINERS = (
    "wav",
    "w64",
    "aiff",
    "caf",
    "mp3",
    "aac",
    "mov",
    "ogg",
    "flac",
    "matroska",
    "amr",
    "asf",
    "avi",
    "mpegts",
)
_WEBM_CODECS = {"opus", "vorbis", "vp8", "vp9", "av1"}
_NO_DECLARED_LENGTH = {"amr", "aac"}
#: First-byte descriptions that mean "a media file", so a failure to open it means it is damaged.
_MEDIA = ("RIFF", "MP3", "Ogg", "FLAC", "WebM", "AMR", "MP4")
_PCM_BITS = re.compile(r"^pcm_[suf](\d+)")

_SIGNATURES = [
    (b"RIFF", "RIFF (WAV/AVI) data"),
    (b"ID3", "MP3 (ID3 tag)"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"OggS", "Ogg"),
    (b"fLaC", "FLAC"),
    (b"\x1a\x45\xdf\xa3", "WebM/Matroska"),
    (b"#!AMR-WB", "AMR-WB"),
    (b"#!AMR", "AMR"),
    (b"%PDF", "PDF document"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or an Office document)"),
    (b"#EXTM3U", "M3U/HLS playlist"),
    (b"{", "JSON or text"),
]


@dataclass(frozen=True)
class AudioFound:
    """What the input turned out to be, as its container declares it."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    bits_per_sample: int | None  # PCM only; compressed codecs have no fixed sample width
    declared_seconds: float | None  # None when the container does not say

    @property
    def format(self) -> str:
        return f"{self.container}/{self.codec}"


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


def unopenable(head: bytes) -> str:
    """Why input starting with ``head`` did not open: a damaged recording, or not a recording at all."""
    found = describe_bytes(head)
    if found.startswith(_MEDIA):
        return f"found {found} data that cannot be opened: it is truncated or damaged"
    return f"not a recording this service can decode: found {found}"


def wav_declared_seconds(head: bytes) -> float | None:
    """The length a WAV header declares (data chunk size / byte rate), if ``head`` holds both chunks."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        chunk_id, size = head[offset : offset + 4], struct.unpack("<I", head[offset + 4 : offset + 8])[0]
        if chunk_id == b"fmt " and offset + 20 <= len(head):
            byte_rate = struct.unpack("<I", head[offset + 16 : offset + 20])[0]
        elif chunk_id == b"data":
            if not byte_rate or size in (0, 0xFFFFFFFF):  # streamed WAVs leave the size unset
                return None
            return size / byte_rate
        offset += 8 + size + (size & 1)
    return None


def container_name(container: InputContainer) -> str:
    """A short name users recognise: m4a/mp4/mov/3gp for the one MP4 demuxer, webm vs matroska."""
    name = container.format.name
    if name.startswith("mov,"):
        brand = (container.metadata.get("major_brand") or "").strip().lower()
        if brand.startswith("3g"):
            return "3gp"
        if brand.startswith("qt"):
            return "mov"
        if brand.startswith("m4a") or brand.startswith("m4b"):
            return "m4a"
        return "mp4"
    if name.startswith("matroska"):
        codecs = {s.codec_context.codec.canonical_name for s in container.streams if s.codec_context}
        return "webm" if codecs and codecs <= _WEBM_CODECS else "matroska"
    return name.split(",")[0]


def stream_list(container: InputContainer) -> str:
    """Every stream's type and codec, to say what a file without decodable audio holds instead."""
    parts = []
    for stream in container.streams:
        context = stream.codec_context
        parts.append(f"{stream.type} {context.codec.canonical_name if context else 'of an unknown codec'}")
    return ", ".join(parts) or "no streams at all"


def bits_per_sample(codec: str) -> int | None:
    """The sample width of a PCM codec (``pcm_s24le`` -> 24); ``None`` for compressed codecs."""
    if codec in ("pcm_mulaw", "pcm_alaw"):
        return 8
    match = _PCM_BITS.match(codec)
    return int(match.group(1)) if match else None


def declared_seconds(container: InputContainer, stream: Stream, head: bytes) -> float | None:
    """The length the input declares: the WAV header's, else the stream's, else the container's."""
    name = container.format.name
    if name in _NO_DECLARED_LENGTH:
        return None
    wav = wav_declared_seconds(head) if name.startswith("wav") else None
    if wav is not None:
        return round(wav, 3)
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration:
        return round(container.duration / av.time_base, 3)
    return None
