"""Settings validation and WAV parsing: pure code, no services."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from shared.audio import PcmReader, describe_bytes
from shared.errors import ConfigurationError, UnsupportedAudioError
from shared.settings import APP_SETTING_NAMES, REQUIRED_SETTINGS, Settings

BASE = {"SPEECH_ENDPOINT": "ws://127.0.0.1:5000"}


def test_defaults_are_documented_values():
    s = Settings.from_env(BASE)
    assert (s.speech_language, s.input_container, s.output_container) == ("en-US", "audio-in", "transcripts")
    assert s.token_credential == "managedidentity" and s.storage is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SPEECH_ENDPOINT"),
        ({"SPEECH_ENDPOINT": "ftp://x"}, "SPEECH_ENDPOINT"),
        ({**BASE, "INPUT_CONTAINER": "Bad_Name"}, "INPUT_CONTAINER"),
        ({**BASE, "TOKEN_TIMEOUT_SECONDS": "soon"}, "TOKEN_TIMEOUT_SECONDS"),
        ({**BASE, "HTTP_MAX_BYTES": "-1"}, "HTTP_MAX_BYTES"),
        ({**BASE, "SPEECH_SEND_FAST": "maybe"}, "SPEECH_SEND_FAST"),
        ({**BASE, "TOKEN_CREDENTIAL": "clientsecret"}, "TOKEN_CREDENTIAL"),
        ({**BASE, "SPEECH_LANGUAGE": "english please"}, "SPEECH_LANGUAGE"),
        ({**BASE, "AudioStorage__blobServiceUri": "https://a", "AudioStorage__credential": "key"},
         "AudioStorage__credential"),
    ],
)
def test_bad_settings_name_the_setting(env, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env(env)


def test_identity_based_storage_wins_over_a_connection_string():
    s = Settings.from_env({**BASE, "AudioStorage": "UseDevelopmentStorage=true",
                           "AudioStorage__blobServiceUri": "https://acct.blob.core.windows.net",
                           "AudioStorage__clientId": "abc"})
    assert s.storage.blob_service_uri == "https://acct.blob.core.windows.net"
    assert s.storage.connection_string is None and s.storage.client_id == "abc"
    assert "AccountKey" not in str(s.describe())


def test_setting_name_lists_are_consistent():
    assert REQUIRED_SETTINGS <= APP_SETTING_NAMES
    assert {"AudioStorage__blobServiceUri", "AudioStorage__queueServiceUri"} <= APP_SETTING_NAMES


def wav_bytes(frames: bytes, *, rate=16000, channels=1, width=2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


class TrickleStream(io.RawIOBase):
    """Returns at most 3 bytes per read, like a slow network source."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(3, len(b), len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def test_mono_samples_pass_through_unchanged_even_from_short_reads():
    samples = struct.pack("<4000h", *range(-2000, 2000))
    pcm = PcmReader(TrickleStream(wav_bytes(samples)))
    assert b"".join(pcm.chunks(1000)) == samples
    assert pcm.seconds_read == pytest.approx(4000 / 16000)
    assert not pcm.truncated


def test_stereo_is_mixed_down_to_the_mean_of_both_channels():
    frames = struct.pack("<6h", 100, 300, -50, -150, 0, 1000)
    pcm = PcmReader(io.BytesIO(wav_bytes(frames, channels=2)))
    assert struct.unpack("<3h", b"".join(pcm.chunks())) == (200, -100, 500)


def test_truncated_file_is_detected():
    data = wav_bytes(b"\x01\x00" * 16000)
    pcm = PcmReader(io.BytesIO(data[: len(data) // 2]))
    list(pcm.chunks())
    assert pcm.truncated and pcm.seconds_read < 0.5


def test_chunks_never_exceed_the_requested_size():
    pcm = PcmReader(io.BytesIO(wav_bytes(b"\x00\x01" * 48000, channels=2)))
    sizes = [len(c) for c in pcm.chunks(1000)]
    assert max(sizes) <= 1000 and sum(sizes) == 48000


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"ID3\x04\x00" + b"\x00" * 100, "MP3"),
        (b"OggS" + b"\x00" * 100, "Ogg"),
        (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100, "MP4"),
        (b"hello, this is plainly a text file\n", "text"),
        (b"RIFF\x24\x00\x00\x00WAVE", "no fmt chunk"),
        (wav_bytes(b"\x00" * 100, width=1), "8-bit"),
        (wav_bytes(b"\x00" * 100, rate=96000), "96000 Hz"),
    ],
)
def test_unsupported_input_says_what_was_found(data, says):
    with pytest.raises(UnsupportedAudioError, match=says):
        PcmReader(io.BytesIO(data))


def test_describe_bytes_names_unknown_binary_by_its_first_bytes():
    assert "0001020304" in describe_bytes(bytes(range(16)))
