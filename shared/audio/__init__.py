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

The modules, in the order the bytes pass through them (each names the traps it exists to avoid,
measured, see the README's formats section):

- ``source``: the caller's stream as FFmpeg reads it: never more than asked for, forward-only streams
  replayed from their head, a failed read kept so it stays a storage error.
- ``identify``: naming what the bytes are (for error messages), the allowed containers, and what the
  container declares: names, bits per sample, length (a WAV's from its own header).
- ``opening``: ``av.open`` restricted to those containers, the audio track and its decoder, the
  declared-length limit: bad input fails here, before anything else is spent.
- ``decoder``: ``AudioDecoder``: demux, decode, damage accounting, the decoded-length limit, closing;
  ``decode_all`` and ``probe`` for callers that want no Speech session.
- ``pcm``: the PCM format fed to the SDK and the resampler that produces it.
- ``outputs``: the per-output buffers, ``PcmReader``, and the rule that a reader far ahead of another
  waits for it, so separate-channel sessions keep memory bounded.

Import from ``shared.audio``; the modules are how it is organised, not an API.
"""

from shared.audio.decoder import (
    MAX_BAD_PACKETS_IN_A_ROW,
    MAX_LOST_SECONDS_IN_A_ROW,
    MAX_SEPARATE_CHANNELS,
    MIN_SECONDS,
    AudioDecoder,
    Decoded,
    decode_all,
    probe,
)
from shared.audio.identify import CONTAINERS, AudioFound, describe_bytes, wav_declared_seconds
from shared.audio.outputs import CHUNK_BYTES, MAX_AHEAD_BYTES, PcmReader
from shared.audio.pcm import BYTES_PER_SECOND, SAMPLE_RATE
from shared.audio.source import HEAD_BYTES, is_seekable

__all__ = [
    "BYTES_PER_SECOND",
    "CHUNK_BYTES",
    "CONTAINERS",
    "HEAD_BYTES",
    "MAX_AHEAD_BYTES",
    "MAX_BAD_PACKETS_IN_A_ROW",
    "MAX_LOST_SECONDS_IN_A_ROW",
    "MAX_SEPARATE_CHANNELS",
    "MIN_SECONDS",
    "SAMPLE_RATE",
    "AudioDecoder",
    "AudioFound",
    "Decoded",
    "PcmReader",
    "decode_all",
    "describe_bytes",
    "is_seekable",
    "probe",
    "wav_declared_seconds",
]
