"""``AudioDecoder``: the input demuxed, decoded and resampled on demand, as the Speech sessions read it.

Nothing decodes ahead of the readers, so its buffers stay small however long the file. Damaged packets are
skipped and counted; too much in a row is ``UnsupportedAudioError``. A truncated mp3 decodes to its end
without error, and FFmpeg may take a failed read for the end of the file, so the end is checked against the
declared length (``truncated``) and the source's own error before it is believed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from shared.audio.identify import AudioFound
from shared.audio.opening import audio_track, describe, open_container, refuse_if_declared_too_long
from shared.audio.outputs import Output, PcmReader, waits_for_others
from shared.audio.pcm import BYTES_PER_SECOND, SAMPLE_RATE, Resampler
from shared.audio.source import Source
from shared.errors import AudioTooLargeError, UnsupportedAudioError
from shared.options import MAX_SEPARATE_CHANNELS

if TYPE_CHECKING:
    import av

#: Audio shorter than this is not sent to the service: a transcript with a warning instead.
MIN_SECONDS = 0.3
#: This much damage in a row means the rest is not audio.
MAX_LOST_SECONDS_IN_A_ROW = 10.0
MAX_BAD_PACKETS_IN_A_ROW = 500  # for packets whose length cannot be told


class AudioDecoder:
    """``with AudioDecoder(stream) as decoder: reader = decoder.readers[0]; reader.read(3200) ...``.

    Opening checks the input and decodes its first ``MIN_SECONDS``, so bad input fails before anything else
    is spent. ``channel_mode="separate"`` gives one reader per channel, each read in its own thread.
    """

    def __init__(self, stream: BinaryIO, *, channel_mode: str = "mix", max_seconds: float | None = None) -> None:
        self._lock = threading.Condition()
        self._container = None
        self._source = Source(stream)
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
        self._resampler: Resampler | None = None
        try:
            self._open(channel_mode)
            with self._lock:
                self._fill(0, int(MIN_SECONDS * BYTES_PER_SECOND))
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------------------------
    def _open(self, channel_mode: str) -> None:
        self._container = container = open_container(self._source)  # set first: close() must close it
        self._stream, self._codec = audio_track(container)
        self.found = describe(container, self._stream, self._codec, self._source.head)
        refuse_if_declared_too_long(self.found, self.max_seconds)
        self.outputs = self._outputs_for(channel_mode)
        self.readers = [PcmReader(self, i) for i in range(len(self.outputs))]
        self._resampler = Resampler(None if len(self.outputs) == 1 else self._codec)

    def _outputs_for(self, channel_mode: str) -> list[Output]:
        """One output per channel in separate mode (2 to ``MAX_SEPARATE_CHANNELS``), else one mix."""
        channels = self.found.channels
        if channel_mode == "separate" and 2 <= channels <= MAX_SEPARATE_CHANNELS:
            return [Output() for _ in range(channels)]
        if channel_mode == "separate":
            self.notes.append(
                f"CHANNEL_MODE is separate but the audio has {channels} channel(s); "
                "it was mixed down and speakers were told apart by diarization"
            )
        return [Output()]

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
    def read_output(self, index: int, max_bytes: int) -> bytes:
        """``PcmReader.read`` of output ``index``: buffered PCM, else decode more (or wait for others)."""
        if max_bytes < 2:
            raise ValueError("read at least one 16-bit sample")
        with self._lock:
            out = self.outputs[index]
            while True:
                if out.closed:
                    return b""
                if out.buffered:
                    data = out.take(max_bytes - max_bytes % 2)
                    self._lock.notify_all()
                    return data
                if self.error is not None:
                    raise self.error
                if self.ended:
                    return b""
                if waits_for_others(out, self.outputs):
                    self._lock.wait(0.5)  # another channel's session is behind: let it catch up
                    continue
                self._fill(index, 2)

    def _fill(self, index: int, wanted: int) -> None:
        """Decode until output ``index`` holds ``wanted`` bytes or the input ends; caller holds the lock."""
        try:
            while self.outputs[index].buffered < wanted and not self.ended:
                self._step()
        except BaseException as exc:
            self.error = exc
            self._lock.notify_all()
            raise

    # -- decoding (the caller holds the lock) -----------------------------------------------------
    def _step(self) -> None:
        """Demux one packet of the audio track and decode it into the outputs."""
        if self._container is None:
            raise UnsupportedAudioError("the audio was closed while it was being read")
        packet = self._next_packet()
        if packet is None:
            if (failure := self._source.failure()) is not None:
                raise failure  # FFmpeg took a failed read for the end of the file: it was not
            self._emit(self._resampler.flush())
            self.ended = True
            self._lock.notify_all()
            return
        try:
            frames = self._codec.decode(packet)
        except EOFError:
            frames = []  # the decoder was already flushed
        except Exception as exc:  # noqa: BLE001 - sorted by raise_if_unexpected; the unknown go up
            self._source.raise_if_unexpected(exc)
            self._skip(packet)
            return
        self._bad_in_a_row, self._lost_in_a_row = 0, 0.0
        for frame in frames:
            if frame.samples:
                self._last_frame_seconds = frame.samples / (frame.sample_rate or SAMPLE_RATE)
                converted = self._resampler.resample(frame)
                if converted is None:
                    self._skip(None)
                else:
                    self._emit(converted)

    def _next_packet(self) -> av.Packet | None:
        while True:
            if self._demux is None:
                self._demux = self._container.demux(self._stream)
            try:
                return next(self._demux)
            except StopIteration:
                return None
            except Exception as exc:  # noqa: BLE001 - sorted by raise_if_unexpected; the unknown go up
                # The demuxer lost its way (damaged container): count it and carry on from here.
                self._source.raise_if_unexpected(exc)
                self._demux = None
                self._skip(None)

    def _skip(self, packet: av.Packet | None) -> None:
        """Count a packet (or frame) that did not decode; too much damage in a row ends the decoding."""
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

    def _emit(self, frames: list[av.AudioFrame]) -> None:
        """Hand resampled frames to the open outputs (plane ``i`` to output ``i``); enforce the limit."""
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
    def close_output(self, index: int) -> None:
        """``PcmReader.close``: output ``index`` is no longer read; stop buffering for it."""
        with self._lock:
            self.outputs[index].close()
            self._lock.notify_all()

    def close(self) -> None:
        """Release FFmpeg's objects; readers return ``b""`` from now on. Safe to call twice."""
        with self._lock:
            for out in getattr(self, "outputs", []):
                out.close()
            self._demux = None
            self._resampler = None
            self._codec = None
            container, self._container = self._container, None
            if container is not None:
                container.close()
            self._lock.notify_all()

    def __enter__(self) -> AudioDecoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class Decoded:
    """What ``decode_all`` found: for tests and benchmarks."""

    found: AudioFound
    seconds: float
    warnings: list[str]


def decode_all(
    stream: BinaryIO, *, channel_mode: str = "mix", max_seconds: float | None = None, chunk_bytes: int = 64 * 1024
) -> Decoded:
    """Decode a whole input and throw the PCM away, raising what a transcription would (for benchmarks and
    hostile-input tests)."""
    with AudioDecoder(stream, channel_mode=channel_mode, max_seconds=max_seconds) as decoder:
        active = list(decoder.readers)
        while active:  # round robin: a channel read alone would wait for the others (MAX_AHEAD_BYTES)
            active = [reader for reader in active if reader.read(chunk_bytes)]
        return Decoded(decoder.found, decoder.seconds_decoded, decoder.warnings())


def probe(stream: BinaryIO, *, max_seconds: float | None = None) -> AudioFound:
    """What ``stream`` is, as its container declares it; raises what opening it for a transcription would.
    Cheap (only ``MIN_SECONDS`` decoded): the HTTP door decides with it whether a body becomes a job."""
    with AudioDecoder(stream, max_seconds=max_seconds) as decoder:
        return decoder.found
