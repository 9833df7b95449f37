"""Audio input: whatever users record, decoded in-process into 16 kHz 16-bit PCM as the SDK asks for it.

Users drop what phones, browsers and meeting tools produce (mp3, m4a with its index at either end,
ogg/opus, webm, flac, video, AMR, WAV of every kind), not 16-bit WAV. The Speech SDK decodes compressed
audio only through GStreamer, which a Functions host does not have, so decoding happens here with PyAV
(FFmpeg inside the wheel) and the SDK only ever gets PCM. The format is found from the content; the
file name is never looked at.

Nothing holds a whole file and nothing is spooled to disk: FFmpeg reads the source (a seekable blob
reader, an HTTP body, a local file) in small reads as the SDK asks for audio, and each output buffer
holds about one packet's worth of samples. ``AudioDecoder`` opens and checks the input before any token
is fetched; its ``readers`` hand the PCM out, one for the mixed-down audio or one per channel
(``CHANNEL_MODE=separate``).

Traps this module exists to avoid (measured, see the README's formats section):

- ``read(n)`` of the source must never return more than ``n`` bytes: PyAV copies the result into an
  n-byte native buffer unchecked and the process aborts. ``_Source`` enforces it for any stream.
- FFmpeg's own AMR decoders stop at the first DTX (silence) frame, which phones write all the time;
  the opencore decoders inside the PyAV wheel do not.
- FFmpeg follows references to other files and URLs from some formats (HLS/concat playlists); only
  the audio and video containers users record are allowed to open (``CONTAINERS``).
- A truncated WAV or Ogg looks complete to FFmpeg; the WAV header's own length is checked here.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import av.error

from shared.errors import AudioTooLargeError, StorageError, TranscriptionError, UnsupportedAudioError

log = logging.getLogger(__name__)

#: What the Speech SDK is fed: 16 kHz, 16-bit signed little-endian, one channel per stream.
SAMPLE_RATE = 16_000
BYTES_PER_SECOND = SAMPLE_RATE * 2
#: Read size for ``chunks()``: 100 ms.
CHUNK_BYTES = BYTES_PER_SECOND // 10
#: Audio shorter than this is not sent to the service: a transcript with a warning instead.
MIN_SECONDS = 0.3
#: Damaged packets are skipped, with a warning; this much damage in a row means the rest is not audio.
MAX_LOST_SECONDS_IN_A_ROW = 10.0
MAX_BAD_PACKETS_IN_A_ROW = 500  # for packets whose length cannot be told
#: ``CHANNEL_MODE=separate`` runs one session per channel; more channels than this are mixed instead.
MAX_SEPARATE_CHANNELS = 4
#: In separate mode one channel's session may run this far ahead of another's before it waits.
MAX_AHEAD_BYTES = 30 * BYTES_PER_SECOND
#: The first bytes kept for naming what a file is and for the WAV header's declared length.
HEAD_BYTES = 4096

#: Demuxers allowed to open user input: the containers people record in. FFmpeg would otherwise also
#: open playlists and other formats that fetch further files or URLs named inside the input.
CONTAINERS = ("wav", "w64", "aiff", "caf", "mp3", "aac", "mov", "ogg", "flac", "matroska", "amr", "asf",
              "avi", "mpegts")
#: Decoders to prefer over FFmpeg's default for a codec (canonical codec name -> decoder name).
_PREFERRED_DECODERS = {"amr_nb": "libopencore_amrnb", "amr_wb": "libopencore_amrwb"}
_WEBM_CODECS = {"opus", "vorbis", "vp8", "vp9", "av1"}
#: Containers with no length field: FFmpeg's duration for them is a guess from the bit rate.
_NO_DECLARED_LENGTH = {"amr", "aac"}
#: First-byte descriptions that mean "a media file", so a failure to open it means it is damaged.
_MEDIA = ("RIFF", "MP3", "Ogg", "FLAC", "WebM", "AMR", "MP4")

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


def wav_declared_seconds(head: bytes) -> float | None:
    """The length a WAV header declares (data chunk size / byte rate), if ``head`` holds both chunks.

    FFmpeg trims a WAV's duration to the bytes present, so a truncated WAV would look complete.
    """
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


class _Source:
    """The caller's stream as PyAV sees it: ``read(n)`` never returns more than ``n`` bytes.

    Keeps the first bytes (to say what a file was when it is not audio) and the first exception a read
    raised: FFmpeg sometimes reports a failed read as bad data, and a storage failure must stay a
    (transient) storage error, not become "unsupported audio". A failed seek is not recorded: bad data
    can make FFmpeg seek to nonsense, and that is the input's fault, not the storage's.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.error: BaseException | None = None
        self._seekable = _seekable(stream)
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


def _seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable()) if hasattr(stream, "seekable") else hasattr(stream, "seek")
    except (OSError, ValueError):
        return False


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


@dataclass
class _Output:
    """One PCM output: the mix, or one channel. ``start`` is the read position inside ``buffer``."""

    buffer: bytearray = field(default_factory=bytearray)
    start: int = 0
    sent_bytes: int = 0
    closed: bool = False

    @property
    def buffered(self) -> int:
        return len(self.buffer) - self.start


class AudioDecoder:
    """``with AudioDecoder(stream) as decoder: reader = decoder.readers[0]; reader.read(3200) ...``.

    Opening checks the input (a container with an audio track in a codec that decodes) and decodes its
    first ``MIN_SECONDS``, so bad input fails here with ``UnsupportedAudioError`` before anything
    else is spent. ``channel_mode="separate"`` gives one reader per channel of a 2-4 channel recording;
    otherwise one reader with every channel mixed down. Several readers may be read from different
    threads (one Speech session each); the decoder runs in whichever thread needs audio, and a reader
    that is ``MAX_AHEAD_BYTES`` ahead of another waits for it, so memory stays bounded.
    """

    def __init__(self, stream: BinaryIO, *, channel_mode: str = "mix", max_seconds: float | None = None) -> None:
        self._lock = threading.Condition()
        self._container = None
        self._source = _Source(stream)
        self.max_seconds = max_seconds
        self.notes: list[str] = []
        self.error: BaseException | None = None
        self.ended = False
        self.samples_out = 0
        self.bad_packets = 0
        self.lost_seconds = 0.0
        self._bad_in_a_row = 0
        self._lost_in_a_row = 0.0
        self._last_frame_seconds = 0.0
        self._demux: Iterator | None = None
        self._resampler: av.AudioResampler | None = None
        try:
            self._open(channel_mode)
            with self._lock:
                self._fill(0, int(MIN_SECONDS * BYTES_PER_SECOND))
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------------------------
    def _open(self, channel_mode: str) -> None:
        source = self._source
        head = source.head
        try:
            container = av.open(source, mode="r", container_options={"format_whitelist": ",".join(CONTAINERS)},
                                metadata_errors="ignore")
        except Exception as exc:  # noqa: BLE001 - sorted by _raise_if_unexpected; the unknown go up
            self._raise_if_unexpected(exc)
            found = describe_bytes(head)
            if found.startswith(_MEDIA):
                raise UnsupportedAudioError(f"found {found} data that cannot be opened: it is truncated or damaged"
                                            ) from None
            raise UnsupportedAudioError(f"not a recording this service can decode: found {found}") from None
        self._container = container
        stream = container.streams.best("audio")
        name = _container_name(container)
        if stream is None:
            raise UnsupportedAudioError(f"found {name} with no audio track ({_stream_list(container)})")
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all  # do not even hand video packets to us
        context = stream.codec_context
        if context is None:
            raise UnsupportedAudioError(f"found {name} whose audio codec this service cannot decode "
                                        f"({_stream_list(container)})")
        codec = context.codec.canonical_name
        preferred = _PREFERRED_DECODERS.get(codec)
        if preferred and preferred in av.codecs_available:
            layout = context.layout
            context = av.CodecContext.create(preferred, "r")
            context.sample_rate = stream.codec_context.sample_rate
            context.layout = layout
        self._stream, self._codec = stream, context
        channels = context.channels or 0
        self.found = AudioFound(
            container=name,
            codec=codec,
            sample_rate=context.sample_rate or 0,
            channels=channels,
            bits_per_sample=_bits_per_sample(codec),
            declared_seconds=_declared_seconds(container, stream, head),
        )
        declared = self.found.declared_seconds
        if self.max_seconds is not None and declared is not None and declared > self.max_seconds:
            raise AudioTooLargeError(
                f"the {self.found.format} file declares {declared / 60:.1f} min of audio; "
                f"the limit is {self.max_seconds / 60:.0f} min (MAX_AUDIO_MINUTES)"
            )
        if channel_mode == "separate" and 2 <= channels <= MAX_SEPARATE_CHANNELS:
            self.outputs = [_Output() for _ in range(channels)]
        else:
            self.outputs = [_Output()]
            if channel_mode == "separate":
                self.notes.append(
                    f"CHANNEL_MODE is separate but the audio has {channels} channel(s); "
                    "it was mixed down and speakers were told apart by diarization"
                )
        self.readers = [PcmReader(self, i) for i in range(len(self.outputs))]

    # -- state ----------------------------------------------------------------------------------
    @property
    def channel_mode(self) -> str:
        return "separate" if len(self.outputs) > 1 else "mix"

    @property
    def seconds_decoded(self) -> float:
        """Seconds of audio decoded so far (per channel)."""
        return self.samples_out / SAMPLE_RATE

    @property
    def truncated(self) -> bool:
        """The input ended well before the length its container declares."""
        declared = self.found.declared_seconds
        if not self.ended or self.error is not None or declared is None:
            return False
        return self.seconds_decoded + max(0.5, 0.01 * declared) < declared

    def warnings(self) -> list[str]:
        """What a transcript should say about the input (damage, truncation, channel handling)."""
        found: list[str] = []
        if self.truncated:
            found.append(
                f"the file ends early or is damaged: it declares {self.found.declared_seconds:.1f} s, "
                f"{self.seconds_decoded:.1f} s were decoded"
            )
        if self.bad_packets:
            found.append(
                f"{self.bad_packets} damaged packet(s) could not be decoded and were skipped: "
                f"about {self.lost_seconds:.2f} s of audio lost"
            )
        return found + self.notes

    # -- reading (called by PcmReader, possibly from several threads) ----------------------------
    def _read(self, index: int, max_bytes: int) -> bytes:
        if max_bytes < 2:
            raise ValueError("read at least one 16-bit sample")
        with self._lock:
            out = self.outputs[index]
            while True:
                if out.closed:
                    return b""
                if out.buffered:
                    return self._take(out, max_bytes - max_bytes % 2)
                if self.error is not None:
                    raise self.error
                if self.ended:
                    return b""
                if any(o.buffered >= MAX_AHEAD_BYTES for o in self.outputs if o is not out and not o.closed):
                    self._lock.wait(0.5)  # another channel's session is behind: let it catch up
                    continue
                self._fill(index, 2)

    def _take(self, out: _Output, size: int) -> bytes:
        data = bytes(out.buffer[out.start : out.start + size])
        out.start += len(data)
        if out.start == len(out.buffer):
            out.buffer.clear()
            out.start = 0
        elif out.start > 65536 and out.start * 2 > len(out.buffer):
            del out.buffer[: out.start]
            out.start = 0
        out.sent_bytes += len(data)
        self._lock.notify_all()
        return data

    def _fill(self, index: int, wanted: int) -> None:
        """Decode until output ``index`` holds ``wanted`` bytes or the input ends; caller holds the lock."""
        try:
            while self.outputs[index].buffered < wanted and not self.ended:
                self._step()
        except BaseException as exc:
            self.error = exc
            self._lock.notify_all()
            raise

    def _step(self) -> None:
        """Demux one packet of the audio track and decode it into the outputs."""
        if self._container is None:
            raise UnsupportedAudioError("the audio was closed while it was being read")
        packet = self._next_packet()
        if packet is None:
            if (failure := self._source.failure()) is not None:
                raise failure  # FFmpeg took a failed read for the end of the file: it was not
            self._emit(self._flush_resampler())
            self.ended = True
            self._lock.notify_all()
            return
        try:
            frames = self._codec.decode(packet)
        except EOFError:
            frames = []  # the decoder was already flushed
        except Exception as exc:  # noqa: BLE001 - sorted by _raise_if_unexpected; the unknown go up
            self._raise_if_unexpected(exc)
            self._skip(packet)
            return
        self._bad_in_a_row, self._lost_in_a_row = 0, 0.0
        for frame in frames:
            if frame.samples:
                self._last_frame_seconds = frame.samples / (frame.sample_rate or SAMPLE_RATE)
                converted = self._resample(frame)
                if converted is None:
                    self._skip(None)
                else:
                    self._emit(converted)

    def _next_packet(self):
        while True:
            if self._demux is None:
                self._demux = self._container.demux(self._stream)
            try:
                return next(self._demux)
            except StopIteration:
                return None
            except Exception as exc:  # noqa: BLE001 - sorted by _raise_if_unexpected; the unknown go up
                # The demuxer lost its way (damaged container): count it and carry on from here.
                self._raise_if_unexpected(exc)
                self._demux = None
                self._skip(None)

    def _raise_if_unexpected(self, exc: Exception) -> None:
        """Raise the right error for a failure inside FFmpeg, unless it just means "bad data".

        A read of the source that failed is the source's error (storage: transient); FFmpeg's own
        errors, and failed seeks, mean the data is bad; anything else is a bug and goes up as it is.
        """
        if (failure := self._source.failure()) is not None:
            raise failure from exc
        if not isinstance(exc, (av.error.FFmpegError, ValueError, EOFError, OSError)):
            raise exc

    def _skip(self, packet) -> None:
        self.bad_packets += 1
        self._bad_in_a_row += 1
        lost = self._last_frame_seconds
        if packet is not None and packet.duration and packet.time_base:
            lost = float(packet.duration * packet.time_base)
        lost = min(max(lost, 0.0), 1.0)  # a damaged packet's own length is not trusted far
        self.lost_seconds += lost
        self._lost_in_a_row += lost
        if self._bad_in_a_row >= MAX_BAD_PACKETS_IN_A_ROW or self._lost_in_a_row > MAX_LOST_SECONDS_IN_A_ROW:
            raise UnsupportedAudioError(
                f"the {self.found.format} data is damaged: {self._bad_in_a_row} packets in a row "
                f"(about {self._lost_in_a_row:.0f} s) could not be decoded after {self.seconds_decoded:.1f} s"
            )

    def _resample(self, frame) -> list | None:
        """``frame`` as 16 kHz s16 frames (planar, one plane per output, in separate mode).

        ``None`` for a frame FFmpeg cannot convert (damaged data can claim any rate or layout).
        """
        try:
            if self._resampler is None:
                self._resampler = self._new_resampler()
            try:
                return self._resampler.resample(frame)
            except ValueError:
                # The stream changed its rate or layout mid-way: finish the old resampler, start anew.
                tail = self._flush_resampler()
                self._resampler = self._new_resampler()
                return tail + self._resampler.resample(frame)
        except (av.error.FFmpegError, ValueError):
            self._resampler = None
            return None

    def _new_resampler(self) -> av.AudioResampler:
        if len(self.outputs) == 1:
            return av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        return av.AudioResampler(format="s16p", layout=self._codec.layout, rate=SAMPLE_RATE)

    def _flush_resampler(self) -> list:
        resampler, self._resampler = self._resampler, None
        if resampler is None:
            return []
        try:
            return resampler.resample(None)
        except (av.error.FFmpegError, ValueError):
            return []

    def _emit(self, frames: list) -> None:
        for frame in frames:
            size = frame.samples * 2  # planes are padded: take only the samples
            for out, plane in zip(self.outputs, frame.planes, strict=False):
                if not out.closed:
                    out.buffer += memoryview(plane)[:size]
            self.samples_out += frame.samples
        if self.max_seconds is not None and self.seconds_decoded > self.max_seconds:
            raise AudioTooLargeError(
                f"the audio is longer than the limit of {self.max_seconds / 60:.0f} min (MAX_AUDIO_MINUTES)"
            )
        self._lock.notify_all()

    # -- closing --------------------------------------------------------------------------------
    def _close_output(self, index: int) -> None:
        with self._lock:
            out = self.outputs[index]
            out.closed = True
            out.buffer = bytearray()
            out.start = 0
            self._lock.notify_all()

    def close(self) -> None:
        """Release FFmpeg's objects; readers return ``b""`` from now on. Safe to call twice."""
        with self._lock:
            for out in getattr(self, "outputs", []):
                out.closed = True
                out.buffer = bytearray()
            self._demux = None
            self._resampler = None
            self._codec = None
            container, self._container = self._container, None
            if container is not None:
                container.close()
            self._lock.notify_all()

    def __enter__(self) -> AudioDecoder:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
        return self.decoder._read(self.index, max_bytes)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk

    def close(self) -> None:
        """This output is no longer read (its session ended): stop buffering for it."""
        self.decoder._close_output(self.index)


@dataclass(frozen=True)
class Decoded:
    """What ``decode_all`` found: for tests and benchmarks."""

    found: AudioFound
    seconds: float
    warnings: list[str]


def decode_all(stream: BinaryIO, *, channel_mode: str = "mix", max_seconds: float | None = None,
               chunk_bytes: int = 64 * 1024) -> Decoded:
    """Decode a whole input and throw the PCM away; raises what a transcription would raise.

    The decoding half of the pipeline without a Speech session: for decode-speed, peak-memory and
    bytes-fetched measurements, and for hostile-input tests.
    """
    with AudioDecoder(stream, channel_mode=channel_mode, max_seconds=max_seconds) as decoder:
        active = list(decoder.readers)
        while active:  # round robin: a channel read alone would wait for the others (MAX_AHEAD_BYTES)
            active = [reader for reader in active if reader.read(chunk_bytes)]
        return Decoded(decoder.found, decoder.seconds_decoded, decoder.warnings())


def probe(stream: BinaryIO) -> AudioFound:
    """What ``stream`` is, as its container declares it; raises what opening it for a transcription would.

    Decodes only what opening checks (``MIN_SECONDS``): cheap enough to decide, before any work, whether
    an HTTP body is short enough to answer in the request.
    """
    with AudioDecoder(stream) as decoder:
        return decoder.found


def _container_name(container) -> str:
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


def _stream_list(container) -> str:
    parts = []
    for stream in container.streams:
        context = stream.codec_context
        parts.append(f"{stream.type} {context.codec.canonical_name if context else 'of an unknown codec'}")
    return ", ".join(parts) or "no streams at all"


_PCM_BITS = re.compile(r"^pcm_[suf](\d+)")


def _bits_per_sample(codec: str) -> int | None:
    if codec in ("pcm_mulaw", "pcm_alaw"):
        return 8
    match = _PCM_BITS.match(codec)
    return int(match.group(1)) if match else None


def _declared_seconds(container, stream, head: bytes) -> float | None:
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
