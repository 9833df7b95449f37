"""Several channels of one recording recognised at once: one ``SpeechSession`` per channel, side by side.

The decoder lets no channel's reader get far ahead of another's (bounded memory), so the sessions must run
at the same time. A channel's segments are labelled with its name from the options or ``Channel-N``: one
channel is one speaker, whatever diarization found inside it.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable

from shared.audio import PcmReader
from shared.options import RecognitionOptions
from shared.output.transcript import Segment
from shared.settings import Settings
from shared.speech.config import channel_label
from shared.speech.session import SpeechSession


def recognise_channels(
    settings: Settings,
    token: str,
    readers: list[PcmReader],
    on_progress: Callable[[float], None] | None,
    options: RecognitionOptions,
) -> list[Segment]:
    """One session per reader, all at once; every channel's segments in time order. If one fails, the decoder
    is closed so the others end at once, then the first error is raised."""
    results: list[list[Segment]] = [[] for _ in readers]
    errors: list[BaseException] = []
    recognised = [0.0] * len(readers)

    def channel_progress(index: int, seconds: float) -> None:
        recognised[index] = seconds
        if on_progress is not None:
            on_progress(min(recognised))

    def run_channel(index: int, reader: PcmReader) -> None:
        try:
            progress = functools.partial(channel_progress, index)
            with SpeechSession(settings, token, reader, progress, options) as session:
                segments = session.run()
            label = channel_label(reader, options)
            results[index] = [dataclasses.replace(s, speaker=label) for s in segments]
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread below
            errors.append(exc)
            reader.decoder.close()

    threads = [
        threading.Thread(target=run_channel, args=(i, r), name=f"speech-{r.label}", daemon=True)
        for i, r in enumerate(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # each session is bounded by its own idle timeout and deadline
    if errors:
        raise errors[0]
    return sorted((s for segments in results for s in segments), key=lambda s: (s.start, s.end, s.speaker))
