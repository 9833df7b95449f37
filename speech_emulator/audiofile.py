"""A recording file as the REST APIs take it, decoded with PyAV (FFmpeg) to 16 kHz float samples, a block at a time.

The websocket carries raw PCM; the REST APIs take files (WAV, MP3, OGG/Opus, FLAC, AAC/M4A, WMA, AMR,
WebM, A-law and mu-law in WAV ...), which FFmpeg reads. Decoding streams: a two-hour file is never held
as samples, only the phrase being cut (:class:`~speech_emulator.vad.PauseSplitter`). Without separate
channels FFmpeg down-mixes, as the service transcribes "multiple channels merged" by default.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from .audio import WHISPER_RATE

#: FFmpeg's own AMR decoders stop at the first DTX (silence) frame, which phones write all the time; the
#: wheel's opencore decoders do not (the product prefers them for the same reason: ``shared/audio/opening.py``).
_OPENCORE = {"amr_nb": "libopencore_amrnb", "amr_wb": "libopencore_amrwb"}


class UndecodableAudioError(ValueError):
    """Not audio FFmpeg can decode (no audio stream, unknown container, corrupt data)."""


def blocks(path: Path, *, separate: bool) -> Iterator[np.ndarray]:
    """``(channels, samples)`` float32 blocks at 16 kHz: one row (down-mixed), or two with ``separate``.

    A mono file gives one row even with ``separate``: it has no second channel.
    """
    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise UndecodableAudioError("The file has no audio stream.")
            layout = "stereo" if separate and stream.channels >= 2 else "mono"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=WHISPER_RATE)
            decoded = False
            for frame in _frames(container, stream):
                for out in resampler.resample(frame):
                    decoded = True
                    yield out.to_ndarray()
            for out in resampler.resample(None):
                decoded = True
                yield out.to_ndarray()
            if not decoded:
                raise UndecodableAudioError("The file holds no audio samples.")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__  # not str(exc): it names the spool file
        raise UndecodableAudioError(f"The audio could not be decoded: {reason}.") from exc
    finally:
        # PyAV's resampler keeps FFmpeg buffers in reference cycles (faster-whisper's audio.py frees them
        # the same way): without this, memory grows with every file decoded.
        gc.collect()


def _frames(container, stream) -> Iterator[av.AudioFrame]:
    """The audio stream's frames, AMR through opencore."""
    name = _OPENCORE.get(stream.codec_context.codec.canonical_name)
    if name is None or name not in av.codecs_available:
        yield from container.decode(stream)
        return
    decoder = av.CodecContext.create(name, "r")
    decoder.sample_rate, decoder.layout = stream.codec_context.sample_rate, stream.codec_context.layout
    for packet in container.demux(stream):  # the last, empty packet flushes the decoder
        yield from decoder.decode(packet)
