"""The decoder on its own (no services): every format, channels, limits, damage, and what bad input says."""

from __future__ import annotations

import io
import re
import struct
import wave

import av
import pytest

from shared.audio import MAX_AHEAD_BYTES, AudioDecoder, decode_all, describe_bytes
from shared.errors import AudioTooLargeError, StorageError, UnsupportedAudioError
from tests import audio_formats, speech_audio


def wav_bytes(frames: bytes, *, rate=16000, channels=1, width=2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


class TrickleStream(io.RawIOBase):
    """Returns at most 3 bytes per read, like a slow network source; seekable."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = [offset, self._pos + offset, len(self._data) + offset][whence]
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b) -> int:
        n = min(3, len(b), len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("fmt", audio_formats.FORMATS, ids=lambda f: f.name)
def test_every_format_decodes_whole_and_says_what_it_is(format_files, format_sources, fmt):
    decoded = decode_all(io.BytesIO(format_files[fmt.name].read_bytes()))
    assert (decoded.found.container, decoded.found.codec) == fmt.expect
    assert decoded.found.sample_rate == fmt.rate
    assert decoded.found.channels == (2 if fmt.layout == "stereo" else 1)
    # Codec delay and frame padding add a few ms; a decoder that stops early (AMR at a DTX frame) loses seconds.
    assert decoded.seconds == pytest.approx(speech_audio.duration_seconds(format_sources[fmt.name]), abs=0.1)
    assert decoded.warnings == []


def test_mono_samples_pass_through_unchanged_even_from_short_reads():
    samples = struct.pack("<4000h", *range(-2000, 2000))
    with AudioDecoder(TrickleStream(wav_bytes(samples))) as decoder:
        assert b"".join(decoder.readers[0].chunks(1000)) == samples
        assert decoder.readers[0].seconds_read == pytest.approx(4000 / 16000)
        assert decoder.warnings() == []


def test_a_forward_only_stream_still_decodes():
    samples = struct.pack("<4000h", *range(-2000, 2000))
    stream = TrickleStream(wav_bytes(samples))
    stream.seekable = lambda: False
    with AudioDecoder(stream) as decoder:
        assert b"".join(decoder.readers[0].chunks()) == samples


def test_stereo_is_mixed_down_to_the_mean_of_both_channels():
    frames = struct.pack("<6h", 100, 300, -50, -150, 0, 1000)
    with AudioDecoder(io.BytesIO(wav_bytes(frames, channels=2))) as decoder:
        assert len(decoder.readers) == 1
        assert decoder.channel_mode == "mix"
        assert struct.unpack("<3h", b"".join(decoder.readers[0].chunks())) == (200, -100, 500)


def test_separate_mode_gives_each_channel_its_own_reader():
    frames = struct.pack("<6h", 100, 300, -50, -150, 0, 1000)
    with AudioDecoder(io.BytesIO(wav_bytes(frames, channels=2)), channel_mode="separate") as decoder:
        left, right = decoder.readers
        assert (left.label, right.label) == ("Channel-1", "Channel-2")
        assert struct.unpack("<3h", b"".join(left.chunks())) == (100, -50, 0)
        assert struct.unpack("<3h", b"".join(right.chunks())) == (300, -150, 1000)


def test_separate_mode_on_a_mono_file_mixes_and_says_so():
    with AudioDecoder(io.BytesIO(wav_bytes(b"\x01\x00" * 8000)), channel_mode="separate") as decoder:
        assert len(decoder.readers) == 1
        assert decoder.channel_mode == "mix"
        assert decoder.warnings() == [
            "CHANNEL_MODE is separate but the audio has 1 channel(s); it was mixed down "
            "and speakers were told apart by diarization"
        ]


def test_a_channel_far_ahead_of_the_other_waits_for_it_instead_of_buffering_the_file():
    """Memory stays bounded when one channel's session reads much faster than the other's."""
    import threading

    seconds = 3 * MAX_AHEAD_BYTES // 32000
    frames = struct.pack("<2h", 1, 2) * (16000 * seconds)
    with AudioDecoder(io.BytesIO(wav_bytes(frames, channels=2)), channel_mode="separate") as decoder:
        left, right = decoder.readers
        read_left = []
        fast = threading.Thread(target=lambda: read_left.extend(left.chunks(32000)), daemon=True)
        fast.start()
        fast.join(2)
        assert fast.is_alive(), "the left channel read the whole file while the right one read nothing"
        assert decoder.outputs[1].buffered <= MAX_AHEAD_BYTES + 32000
        right_bytes = sum(len(c) for c in right.chunks(32000))  # reading the right lets the left finish
        fast.join(10)
        assert not fast.is_alive()
        assert sum(map(len, read_left)) == right_bytes == len(frames) // 2


def test_a_truncated_wav_is_reported_from_its_header():
    data = wav_bytes(b"\x01\x00" * 32000)
    decoded = decode_all(io.BytesIO(data[: len(data) // 2]))
    assert decoded.seconds == pytest.approx(1.0, abs=0.01)
    assert decoded.found.declared_seconds == pytest.approx(2.0)
    assert decoded.warnings == ["the file ends early or is damaged: it declares 2.0 s, 1.0 s were decoded"]


def test_a_truncated_mp3_decodes_what_is_there_with_a_warning(format_files):
    data = format_files["mp3"].read_bytes()
    decoded = decode_all(io.BytesIO(data[: len(data) // 2]))
    assert 5 < decoded.seconds < 8
    assert decoded.warnings
    assert decoded.warnings[0].startswith("the file ends early or is damaged: it declares 12.8 s")


def test_damaged_packets_are_skipped_and_the_loss_is_reported(format_files):
    data = bytearray(format_files["m4a-faststart"].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = bytes(3000)  # a burst of zeros inside the audio
    decoded = decode_all(io.BytesIO(bytes(data)))
    assert decoded.seconds > 12  # most of the 12.8 s survive
    [warning] = decoded.warnings
    lost = float(re.search(r"about (\d+\.\d+) s of audio lost", warning).group(1))
    assert "damaged packet(s) could not be decoded and were skipped" in warning
    assert 0.1 < lost < 1.0


def test_a_file_damaged_beyond_the_limit_is_unsupported_audio(format_files):
    data = bytearray(format_files["m4a-faststart"].read_bytes())
    data[len(data) // 10 :] = bytes(len(data) - len(data) // 10)  # all but the first second is zeros
    with pytest.raises(UnsupportedAudioError, match=r"the m4a/aac data is damaged: \d+ packets in a row"):
        decode_all(io.BytesIO(bytes(data)))


def test_chunks_never_exceed_the_requested_size():
    with AudioDecoder(io.BytesIO(wav_bytes(b"\x00\x01" * 48000, channels=2))) as decoder:
        sizes = [len(c) for c in decoder.readers[0].chunks(1000)]
    assert max(sizes) <= 1000
    assert sum(sizes) == 48000


def test_a_source_that_returns_more_than_asked_cannot_overflow_ffmpegs_buffer():
    """PyAV copies ``read(n)``'s result into an n-byte buffer unchecked: this used to abort the process."""
    samples = struct.pack("<8000h", *range(8000))

    class Greedy(io.BytesIO):
        def read(self, size=-1):
            return super().read(-1 if size is None or size < 0 else size + 4096)

    with AudioDecoder(Greedy(wav_bytes(samples))) as decoder:
        assert len(b"".join(decoder.readers[0].chunks())) == len(samples)


def video_without_audio() -> bytes:
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as target:
        video = target.add_stream("mpeg4", rate=5)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), dtype=np.uint8), format="rgb24")
            frame.pts = i
            target.mux(video.encode(frame))
        target.mux(video.encode(None))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty file"),
        (b"hello, this is plainly a text file\n" * 20, "text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "PDF"),
        (bytes(4096), "unrecognised data (starts with 0000"),
        (b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk", "RIFF"),
        (b"OggS" + bytes(range(256)) * 4, "Ogg data that cannot be opened: it is truncated or damaged"),
        # A playlist naming a local file: FFmpeg's HLS demuxer would open it; only media containers may open.
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n", "playlist"),
    ],
    ids=["empty", "text", "png", "pdf", "zeros", "corrupt-wav", "corrupt-ogg", "hls-playlist"],
)
def test_bad_input_is_unsupported_audio_that_says_what_was_found(data, says):
    with pytest.raises(UnsupportedAudioError, match=says.replace("(", r"\(")):
        AudioDecoder(io.BytesIO(data))


def test_a_video_without_an_audio_track_says_so():
    with pytest.raises(UnsupportedAudioError, match=r"found mp4 with no audio track \(video mpeg4\)"):
        AudioDecoder(io.BytesIO(video_without_audio()))


def test_half_a_moov_at_end_m4a_is_reported_as_truncated(format_files):
    data = format_files["m4a-moov-at-end"].read_bytes()
    with pytest.raises(UnsupportedAudioError, match="MP4/M4A data that cannot be opened: it is truncated"):
        AudioDecoder(io.BytesIO(data[: len(data) // 2]))


def test_audio_declared_longer_than_the_limit_is_refused_before_decoding(format_files):
    with pytest.raises(AudioTooLargeError, match="declares 0.2 min.*MAX_AUDIO_MINUTES"):
        AudioDecoder(io.BytesIO(format_files["m4a-faststart"].read_bytes()), max_seconds=6)


def test_audio_longer_than_the_limit_without_a_declared_length_fails_while_decoding(format_files):
    with pytest.raises(AudioTooLargeError, match="longer than the limit"):
        decode_all(io.BytesIO(format_files["amr-nb"].read_bytes()), max_seconds=6)


class FailingStream(io.BytesIO):
    """A stream whose reads fail after ``after`` bytes, like a connection dropped mid-download."""

    def __init__(self, data: bytes, after: int, error: Exception) -> None:
        super().__init__(data)
        self.after, self.error = after, error

    def read(self, size=-1):
        if self.tell() + max(size, 0) > self.after:
            raise self.error
        return super().read(size)


@pytest.mark.parametrize(
    "error",
    [StorageError("blob storage went away"), ConnectionResetError("reset by peer")],
    ids=["storage-error", "os-error"],
)
@pytest.mark.parametrize("after", [100, 60_000], ids=["while-opening", "while-decoding"])
def test_a_source_failing_mid_stream_is_a_storage_error_not_bad_audio(format_files, error, after):
    data = format_files["mp3"].read_bytes()
    with pytest.raises(StorageError) as raised:
        decode_all(FailingStream(data, after, error))
    assert raised.value.transient
    assert raised.value is error or "reset by peer" in raised.value.message


def test_describe_bytes_names_unknown_binary_by_its_first_bytes():
    assert "0001020304" in describe_bytes(bytes(range(16)))
