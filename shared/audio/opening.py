"""Opening the input: is it a recording this service can decode? Bad input fails here, before a token is
fetched or a session started.

- User input opens only with the demuxers in ``CONTAINERS``: FFmpeg follows playlists to other files and URLs.
- A file can open and hold no audio track, or one in a codec this FFmpeg lacks: said as such, with its tracks.
- FFmpeg's AMR decoders stop at the first DTX (silence) frame, which phones write all the time; the wheel's
  opencore decoders do not, so they are preferred.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import av

from shared.audio.identify import (
    CONTAINERS,
    AudioFound,
    bits_per_sample,
    container_name,
    declared_seconds,
    stream_list,
    unopenable,
)
from shared.errors import AudioTooLargeError, UnsupportedAudioError

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.stream import AudioStream
    from av.container import InputContainer

    from shared.audio.source import Source

_PREFERRED_DECODERS = {"amr_nb": "libopencore_amrnb", "amr_wb": "libopencore_amrwb"}


def open_container(source: Source) -> InputContainer:
    """``source`` opened by one of the allowed demuxers; what it was instead if none would open it."""
    try:
        return av.open(
            source, mode="r", container_options={"format_whitelist": ",".join(CONTAINERS)}, metadata_errors="ignore"
        )
    except Exception as exc:  # noqa: BLE001 - sorted by raise_if_unexpected; the unknown go up
        source.raise_if_unexpected(exc)
        raise UnsupportedAudioError(unopenable(source.head)) from None


def audio_track(container: InputContainer) -> tuple[AudioStream, AudioCodecContext]:
    """The audio track to decode and the decoder to use for it; every other track is left unread."""
    stream = container.streams.best("audio")
    name = container_name(container)
    if stream is None:
        raise UnsupportedAudioError(f"found {name} with no audio track ({stream_list(container)})")
    for other in container.streams:
        if other.index != stream.index:
            other.discard = av.stream.Discard.all  # do not even hand video packets to us
    context = stream.codec_context
    if context is None:
        raise UnsupportedAudioError(
            f"found {name} whose audio codec this service cannot decode ({stream_list(container)})"
        )
    preferred = _PREFERRED_DECODERS.get(context.codec.canonical_name)
    if preferred and preferred in av.codecs_available:
        layout = context.layout
        context = av.CodecContext.create(preferred, "r")
        context.sample_rate = stream.codec_context.sample_rate
        context.layout = layout
    return stream, context


def describe(container: InputContainer, stream: AudioStream, decoder: AudioCodecContext, head: bytes) -> AudioFound:
    """What the input is, as its container declares it: the codec is the track's, the rate and channels
    the chosen ``decoder``'s (the ones its samples come out with)."""
    codec = stream.codec_context.codec.canonical_name
    return AudioFound(
        container=container_name(container),
        codec=codec,
        sample_rate=decoder.sample_rate or 0,
        channels=decoder.channels or 0,
        bits_per_sample=bits_per_sample(codec),
        declared_seconds=declared_seconds(container, stream, head),
    )


def refuse_if_declared_too_long(found: AudioFound, max_seconds: float | None) -> None:
    """A file that says it is longer than the limit is refused before any of it is decoded."""
    declared = found.declared_seconds
    if max_seconds is not None and declared is not None and declared > max_seconds:
        raise AudioTooLargeError(
            f"the {found.format} file declares {declared / 60:.1f} min of audio; "
            f"the limit is {max_seconds / 60:.0f} min (MAX_AUDIO_MINUTES)"
        )
