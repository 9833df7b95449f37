"""Test recordings in every format users send, encoded from the espeak-ng speech WAVs.

Encoders: PyAV's own (the FFmpeg inside the ``av`` wheel: LAME, AAC, Opus, Vorbis, FLAC, x264,
MPEG-4, opencore AMR-NB, PCM of every width) for everything except AMR-WB, for which neither PyAV nor
Debian's sox or ffmpeg ship an encoder: that one comes from Debian's ``libvo-amrwbenc0`` (VisualOn
AMR-WB encoder), called through ctypes (``make system`` installs it; test-only, not deployed).

Phone formats are made the way phones make them: AMR with DTX on (silence as SID frames, which
FFmpeg's own AMR decoders cannot get past), m4a with the ``moov`` index at the end of the file.

The 8 kHz formats (G.711 mu-law/A-law WAV, AMR-NB) carry telephone-band speech, which the emulator's
small recogniser (Whisper tiny.en) hears much worse than wideband: the suite's usual espeak-ng voice
at 150 words/min, as plain 8 kHz PCM, measured WER 27-37 %. They are made from the same sentences
spoken by the higher voice at 120 words/min (``NARROWBAND_SPEECH``), measured 17-30 % across the 8 kHz
codecs and nearby voices and rates (0.17-0.50): a recogniser limit of the test stack, not of the decoder (the
real service is trained on telephone audio), so they are held to ``wer_bound`` 0.35; a broken decoder gives
nearly 1.0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av


@dataclass(frozen=True)
class Format:
    """How to make one fixture: container, audio codec and rate, optional video codec, options."""

    name: str
    suffix: str
    container: str
    codec: str
    rate: int
    layout: str = "mono"
    codec_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    video: str | None = None
    #: What ``AudioFound`` should report: (container, codec).
    expect: tuple[str, str] = ("", "")

    @property
    def narrowband(self) -> bool:
        return self.rate <= 8000

    @property
    def wer_bound(self) -> float:
        """The word error rate its transcript must stay within (see the module docstring for 8 kHz)."""
        return 0.35 if self.narrowband else 0.25


#: How the speech for 8 kHz formats is spoken: (voice, words per minute). See the module docstring.
NARROWBAND_SPEECH = ("en+f3", 120)


FORMATS = [
    Format("wav-u8", ".wav", "wav", "pcm_u8", 16000, expect=("wav", "pcm_u8")),
    Format("wav-s16-stereo-44k", ".wav", "wav", "pcm_s16le", 44100, "stereo", expect=("wav", "pcm_s16le")),
    Format("wav-s24-48k", ".wav", "wav", "pcm_s24le", 48000, expect=("wav", "pcm_s24le")),
    Format("wav-s32", ".wav", "wav", "pcm_s32le", 16000, expect=("wav", "pcm_s32le")),
    Format("wav-float", ".wav", "wav", "pcm_f32le", 22050, expect=("wav", "pcm_f32le")),
    Format("wav-mulaw", ".wav", "wav", "pcm_mulaw", 8000, expect=("wav", "pcm_mulaw")),
    Format("wav-alaw", ".wav", "wav", "pcm_alaw", 8000, expect=("wav", "pcm_alaw")),
    Format("mp3", ".mp3", "mp3", "libmp3lame", 44100, codec_options={"b": "64k"}, expect=("mp3", "mp3")),
    Format(
        "m4a-faststart",
        ".m4a",
        "ipod",
        "aac",
        44100,
        container_options={"movflags": "faststart"},
        expect=("m4a", "aac"),
    ),
    Format("m4a-moov-at-end", ".m4a", "ipod", "aac", 44100, expect=("m4a", "aac")),
    Format("ogg-opus", ".opus", "ogg", "libopus", 48000, expect=("ogg", "opus")),
    Format(
        "ogg-vorbis",
        ".ogg",
        "ogg",
        "vorbis",
        44100,
        "stereo",
        codec_options={"strict": "experimental"},
        expect=("ogg", "vorbis"),
    ),
    Format("flac", ".flac", "flac", "flac", 44100, expect=("flac", "flac")),
    Format("webm-opus", ".webm", "webm", "libopus", 48000, expect=("webm", "opus")),
    Format("mp4-video", ".mp4", "mp4", "aac", 44100, video="libx264", expect=("mp4", "aac")),
    Format("mov-video", ".mov", "mov", "aac", 48000, "stereo", video="mpeg4", expect=("mov", "aac")),
    Format(
        "3gp-video",
        ".3gp",
        "3gp",
        "libopencore_amrnb",
        8000,
        video="mpeg4",
        codec_options={"dtx": "1", "b": "12200"},
        expect=("3gp", "amr_nb"),
    ),
    Format(
        "amr-nb",
        ".amr",
        "amr",
        "libopencore_amrnb",
        8000,
        codec_options={"dtx": "1", "b": "12200"},
        expect=("amr", "amr_nb"),
    ),
    Format("amr-wb", ".awb", "amr", "vo-amrwbenc", 16000, expect=("amr", "amr_wb")),
]
BY_NAME = {f.name: f for f in FORMATS}


def encode(source_wav: Path, fmt: Format, out: Path) -> Path:
    """Encode a PCM WAV into ``fmt``; the audio is resampled to the format's rate and layout."""
    if fmt.codec == "vo-amrwbenc":
        return encode_amr_wb(source_wav, out)
    with (
        av.open(str(source_wav)) as source,
        av.open(str(out), "w", format=fmt.container, options=fmt.container_options) as target,
    ):
        audio = target.add_stream(fmt.codec, rate=fmt.rate, layout=fmt.layout)
        audio.codec_context.options = dict(fmt.codec_options)
        seconds = float(source.duration / av.time_base)
        video = _add_video(target, fmt.video) if fmt.video else None
        resampler = av.AudioResampler(
            format=audio.codec_context.codec.audio_formats[0].name,
            layout=fmt.layout,
            rate=fmt.rate,
            frame_size=audio.codec_context.frame_size or 1024,
        )
        samples = 0
        frames = [f for frame in source.decode(audio=0) for f in resampler.resample(frame)]
        for frame in frames + resampler.resample(None):
            frame.pts, frame.time_base = samples, Fraction(1, fmt.rate)
            samples += frame.samples
            target.mux(audio.encode(frame))
        target.mux(audio.encode(None))
        if video is not None:
            _write_video(target, video, seconds)
    return out


def _add_video(target, codec: str):
    video = target.add_stream(codec, rate=5)
    video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
    return video


def _write_video(target, video, seconds: float) -> None:
    """A few grey frames per second: enough to be a real video track next to the audio."""
    import numpy as np

    for i in range(int(seconds * 5) + 1):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 40 + i % 100, dtype=np.uint8), format="rgb24")
        frame.pts = i
        target.mux(video.encode(frame))
    target.mux(video.encode(None))


def encode_amr_wb(source_wav: Path, out: Path, *, mode: int = 8, dtx: bool = True) -> Path:
    """AMR-WB (``#!AMR-WB`` storage format) at 23.85 kbit/s through libvo-amrwbenc via ctypes."""
    path = ctypes.util.find_library("vo-amrwbenc")
    if path is None:
        raise RuntimeError("libvo-amrwbenc is missing: apt-get install -y libvo-amrwbenc0 (make system does)")
    lib = ctypes.CDLL(path)
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_short),
        ctypes.POINTER(ctypes.c_ubyte),
        ctypes.c_int,
    ]
    lib.E_IF_encode.restype = ctypes.c_int
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    pcm = to_pcm16(source_wav, 16000)
    state = lib.E_IF_init()
    data = bytearray(b"#!AMR-WB\n")
    packet = (ctypes.c_ubyte * 64)()
    try:
        for start in range(0, len(pcm) - len(pcm) % 640, 640):  # 20 ms frames of 320 samples
            frame = (ctypes.c_short * 320).from_buffer_copy(pcm[start : start + 640])
            size = lib.E_IF_encode(state, mode, frame, packet, int(dtx))
            data += bytes(packet[:size])
    finally:
        lib.E_IF_exit(state)
    out.write_bytes(bytes(data))
    return out


def to_pcm16(source_wav: Path, rate: int) -> bytes:
    """The WAV's samples as 16-bit mono PCM at ``rate``."""
    with wave.open(str(source_wav), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2):
            return w.readframes(w.getnframes())
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    parts = []
    with av.open(str(source_wav)) as source:
        for frame in source.decode(audio=0):
            parts += [bytes(f.planes[0])[: f.samples * 2] for f in resampler.resample(frame)]
    parts += [bytes(f.planes[0])[: f.samples * 2] for f in resampler.resample(None)]
    return b"".join(parts)


def stereo_wav(left: bytes, right: bytes, out: Path, *, rate: int = 16000) -> Path:
    """A 16-bit stereo WAV from two mono 16-bit PCM channels (the shorter is padded with silence)."""
    length = max(len(left), len(right))
    left, right = left.ljust(length, b"\0"), right.ljust(length, b"\0")
    frames = bytearray(length * 2)
    for channel, pcm in enumerate((left, right)):
        view = memoryview(frames).cast("B")
        for i in range(2):
            view[channel * 2 + i :: 4] = pcm[i::2]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out


def call_recording(mono_wav: Path, timeline: list[tuple[str, float, float]], left_voice: str, out: Path) -> Path:
    """A stereo call recording from a two-voice dialogue: ``left_voice``'s lines on the left channel only,
    every other line on the right only (each side silent while the other speaks, as call recorders write).
    """
    with wave.open(str(mono_wav), "rb") as w:
        rate = w.getframerate()
        pcm = w.readframes(w.getnframes())
    left, right = bytearray(len(pcm)), bytearray(len(pcm))
    for voice, start, end in timeline:
        lo, hi = int(start * rate) * 2, min(len(pcm), int(end * rate) * 2)
        (left if voice == left_voice else right)[lo:hi] = pcm[lo:hi]
    return stereo_wav(bytes(left), bytes(right), out, rate=rate)
