"""Audio input: whatever users record, decoded in-process into the 16 kHz 16-bit PCM the Speech SDK takes.

The SDK decodes compressed audio only through GStreamer, which a Functions host lacks, so PyAV (FFmpeg in the
wheel) decodes here, the format found from the content, never the file name. Nothing holds a whole file:
FFmpeg reads the source in small reads as the SDK asks for audio. Import from ``shared.audio``.
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
