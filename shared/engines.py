"""Which engine transcribes a recording: the one asked for, or for ``engine=auto`` the fast one whenever the
recording is within its limits and asks for nothing only real-time has (``docs/engines.md``); never batch.

Decided once the audio is open (its size, declared length, format and channels known) and before any token,
so a recording fast or batch cannot take fails at once when asked for by name, and goes to real-time with
``auto``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.audio import AudioFound
from shared.errors import AudioTooLargeError, InvalidOptionsError, TranscriptionError, UnsupportedAudioError
from shared.options import RecognitionOptions
from shared.options.declared import AUTO, BATCH, FAST, REALTIME, realtime_only

#: Fast transcription takes files "< 300 MB" and "< 120 min" (Speech quotas and limits); MB read as 10^6
#: bytes, the smaller reading, so nothing sent is over the service's limit.
FAST_MAX_BYTES = 300 * 1000 * 1000
FAST_MAX_SECONDS = 120 * 60
#: At most two channels transcribed separately (the API's ``channels``).
FAST_MAX_CHANNELS = 2
#: Containers (as ``shared.audio`` names them) whose format fast transcription documents: WAV, MP3, OGG/OPUS,
#: FLAC, WMA (asf), AAC (ADTS), AMR, WebM. MP4/M4A/MOV/3GP and the rest go to real-time: never transcoded.
FAST_CONTAINERS = frozenset({"wav", "mp3", "ogg", "flac", "asf", "aac", "amr", "webm"})
#: Batch documents the same formats, and files up to "1 GB" (read as 10^9 bytes, the smaller reading).
BATCH_CONTAINERS = FAST_CONTAINERS
BATCH_MAX_BYTES = 1000 * 1000 * 1000


@dataclass(frozen=True)
class EngineChoice:
    """The engine that runs, and why when ``auto`` chose it (``None`` when it was asked for by name)."""

    engine: str
    reason: str | None = None


def choose_engine(options: RecognitionOptions, found: AudioFound, size: int | None, channel_mode: str) -> EngineChoice:
    """The engine for this recording; with ``engine=fast`` a recording fast cannot take is refused by its
    rule, and with ``auto`` so is ``max_speakers`` on one only real-time can take (it has no speaker count)."""
    if options.engine == REALTIME:
        return EngineChoice(REALTIME)
    if options.engine == BATCH:
        obstacle = batch_obstacle(found, size, channel_mode, options)
        if obstacle is not None:
            kind, why = obstacle
            raise kind(f"engine=batch: {why}; use another engine")
        return EngineChoice(BATCH)
    obstacle = fast_obstacle(options, found, size, channel_mode)
    if options.engine == FAST:
        if obstacle is not None:
            kind, why = obstacle
            raise kind(f"engine=fast: {why}; use engine=realtime or auto")
        return EngineChoice(FAST)
    assert options.engine == AUTO
    if obstacle is None:
        return EngineChoice(FAST, "auto: within fast's limits, and nothing only real-time has is asked for")
    if options.max_speakers is not None:
        raise InvalidOptionsError(
            f"max_speakers: real-time has no speaker count, and fast cannot take it: {obstacle[1]}"
        )
    return EngineChoice(REALTIME, f"auto: real-time, since {obstacle[1]}")


def fast_obstacle(
    options: RecognitionOptions, found: AudioFound, size: int | None, channel_mode: str
) -> tuple[type[TranscriptionError], str] | None:
    """Why fast cannot transcribe this recording as asked (the error's class and reason), or ``None``."""
    only = realtime_only(options)
    if only is not None:  # only auto gets here with one: the option rules refuse it with engine=fast
        return InvalidOptionsError, f"{only} is real-time only"
    if found.container not in FAST_CONTAINERS:
        return UnsupportedAudioError, (
            f"fast transcription does not document {found.container} files (it takes WAV, MP3, Ogg, FLAC, WMA, "
            "AAC, AMR and WebM)"
        )
    if size is None:
        return UnsupportedAudioError, "the audio's size is not known before it is sent"
    if size >= FAST_MAX_BYTES:
        return AudioTooLargeError, f"the audio is {size} bytes; fast takes less than 300 MB"
    declared = found.declared_seconds
    if declared is None and options.engine == AUTO:  # engine=fast sends it all the same: the service decides
        return UnsupportedAudioError, f"the {found.container} file declares no length; fast takes less than 120 min"
    if declared is not None and declared >= FAST_MAX_SECONDS:
        return AudioTooLargeError, f"the file declares {declared / 60:.1f} min; fast takes less than 120"
    return _separate_channels(options, found) if channel_mode == "separate" else None


def batch_obstacle(
    found: AudioFound, size: int | None, channel_mode: str, options: RecognitionOptions
) -> tuple[type[TranscriptionError], str] | None:
    """Why batch cannot transcribe this recording as asked (the options' rules were checked already). It reads
    each channel apart and diarizes mono audio only ("Stereo audio is not supported when using diarization"),
    so it has no mix of several channels."""
    if found.container not in BATCH_CONTAINERS:
        return UnsupportedAudioError, (
            f"batch transcription does not document {found.container} files (it takes WAV, MP3, Ogg, FLAC, WMA, "
            "AAC, AMR and WebM)"
        )
    if size is None or size > BATCH_MAX_BYTES:
        return AudioTooLargeError, f"the audio is {size or 'of unknown'} bytes; batch takes 1 GB at most"
    if channel_mode == "separate":
        return _separate_channels(options, found, "batch")
    if found.channels > 1:
        return InvalidOptionsError, (
            f"the recording has {found.channels} channels, and batch transcription does not mix channels (it "
            "diarizes mono audio only); set CHANNEL_MODE=separate for two channels apart"
        )
    return None


def _separate_channels(
    options: RecognitionOptions, found: AudioFound, engine: str = "fast"
) -> tuple[type[TranscriptionError], str] | None:
    """``CHANNEL_MODE=separate``: fast and batch transcribe at most two channels, each its own speaker, not
    diarized."""
    if found.channels > FAST_MAX_CHANNELS:
        return InvalidOptionsError, (
            f"the recording has {found.channels} channels; {engine} transcribes at most {FAST_MAX_CHANNELS} apart "
            "(CHANNEL_MODE=separate)"
        )
    if options.max_speakers is not None:
        return InvalidOptionsError, "separate channels are not diarized (CHANNEL_MODE=separate)"
    return None
