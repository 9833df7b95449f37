"""Long recordings made from the committed samples, for the benchmarks: ``FORMAT:MINUTES`` -> a cached file.

Add a format by adding a maker to ``MAKERS``: a function ``(minutes, path) -> path`` that writes a recording
of that length, a piece at a time, so a 2-hour file costs no more memory to make than a 1-minute one.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

from bench import harness

#: The committed speech concatenated into long recordings, with this much silence between copies.
SOURCES = (harness.SAMPLES / "help-desk-call.wav", harness.SAMPLES / "welcome.wav")
GAP_SECONDS = 0.8


def make_wav(minutes: float, path: Path) -> Path:
    """A 16 kHz mono 16-bit WAV of exactly ``minutes``: the samples, end to end with pauses, repeated.

    Written a piece at a time, so making a 2-hour file needs no more memory than a 1-minute one.
    """
    pieces = []
    for source in SOURCES:
        with wave.open(str(source), "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (16000, 1, 2):
                raise ValueError(f"{source} is not 16 kHz mono 16-bit")
            pieces.append(w.readframes(w.getnframes()))
    pieces.append(b"\0\0" * int(GAP_SECONDS * 16000))
    remaining = int(minutes * 60 * 16000) * 2
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        while remaining > 0:
            for piece in pieces:
                chunk = piece[:remaining]
                out.writeframes(chunk)
                remaining -= len(chunk)
    return path


def _encode(
    wav: Path, path: Path, *, container: str, codec: str, rate: int = 44100, options: dict[str, str] | None = None
) -> Path:
    """Encode ``wav`` with PyAV one frame at a time, so a 2-hour file costs no more memory than a short one."""
    from fractions import Fraction

    import av

    with av.open(str(wav)) as source, av.open(str(path), "w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        stream.codec_context.options = dict(options or {})
        resampler = av.AudioResampler(
            format=stream.codec_context.codec.audio_formats[0].name,
            layout="mono",
            rate=rate,
            frame_size=stream.codec_context.frame_size or 1024,
        )
        samples = 0

        def mux(frames) -> None:
            nonlocal samples
            for frame in frames:
                frame.pts, frame.time_base = samples, Fraction(1, rate)
                samples += frame.samples
                target.mux(stream.encode(frame))

        for frame in source.decode(audio=0):
            mux(resampler.resample(frame))
        mux(resampler.resample(None))
        target.mux(stream.encode(None))
    return path


def make_mp3(minutes: float, path: Path) -> Path:
    """MP3, 44.1 kHz mono at 64 kbit/s (LAME), from the WAV of the same length."""
    return _encode(
        made_file(f"wav:{minutes:g}", path.parent), path, container="mp3", codec="libmp3lame", options={"b": "64k"}
    )


def make_m4a(minutes: float, path: Path) -> Path:
    """AAC in m4a with the ``moov`` index at the end, as phones write it: the reader must jump to the tail."""
    return _encode(
        made_file(f"wav:{minutes:g}", path.parent), path, container="ipod", codec="aac", options={"b": "64k"}
    )


#: FORMAT -> maker. Another format adds one function here.
MAKERS: dict[str, Callable[[float, Path], Path]] = {"wav": make_wav, "mp3": make_mp3, "m4a": make_m4a}


def made_file(spec: str, folder: Path) -> Path:
    """``FORMAT:MINUTES`` -> a cached file of that format and length in ``folder``."""
    fmt, _, minutes = spec.partition(":")
    if fmt not in MAKERS or not minutes:
        raise ValueError(f"--make takes FORMAT:MINUTES with FORMAT one of {', '.join(MAKERS)}; got {spec!r}")
    path = folder / f"speech-{float(minutes):g}min.{fmt}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        MAKERS[fmt](float(minutes), partial)
        partial.rename(path)
    return path
