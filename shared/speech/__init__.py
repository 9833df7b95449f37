"""Speech recognition with the Speech SDK, every SDK object disposed of when its session ends.

``recognise`` is what the pipeline calls. Importing any module here loads the SDK's native library, so
callers import the package inside the invocation path, never at module level: a cold start does not pay.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.audio import PcmReader
from shared.options import RecognitionOptions
from shared.output.transcript import Segment
from shared.settings import Settings
from shared.speech.channels import recognise_channels
from shared.speech.config import options_or_default
from shared.speech.session import SpeechSession

__all__ = ["SpeechSession", "recognise"]


def recognise(
    settings: Settings,
    token: str,
    readers: list[PcmReader],
    on_progress: Callable[[float], None] | None = None,
    options: RecognitionOptions | None = None,
) -> list[Segment]:
    """The segments of one reader, or of several channels at once (a session each); ``options=None``
    applies the app's defaults."""
    options = options_or_default(settings, options)
    if len(readers) == 1:
        with SpeechSession(settings, token, readers[0], on_progress, options) as session:
            return session.run()
    return recognise_channels(settings, token, readers, on_progress, options)
