"""Speech recognition with the Speech SDK, every SDK object disposed of when its session ends.

``recognise(settings, token, readers, on_progress, options)`` is what the pipeline calls: one session for
the mixed-down audio, or one per channel at the same time when ``CHANNEL_MODE=separate`` gave several
readers, each applying the recording's ``RecognitionOptions``. It returns the segments, in time order;
with ``words`` on each carries the service's confidence and its words, with several languages its
detected language.

- ``session``: ``SpeechSession``, one ``ConversationTranscriber`` session: opens the SDK objects,
  runs until the service has answered for all the audio (with an idle timeout and a deadline), and on
  close disconnects every handler, stops the SDK (bounded, on a helper thread) and drops every
  reference.
- ``config``: the ``SpeechConfig`` for a session: endpoint, this invocation's token (a string, never
  a credential), the options (language or identification, custom model, words, profanity,
  segmentation, detailed output), the SDK's send-pacing properties; the language-identification
  configs and the phrase list.
- ``feed``: ``PacedPcmFeed``, the pull-stream callback that reads PCM only when the SDK asks and holds
  the SDK back while it is too far ahead of the service.
- ``events``: ``EventCollector``, the SDK's events turned into segments and into how far the service
  has answered; ``error_for_cancellation``, the SDK's cancellation codes turned into our typed errors.
- ``segments``: one final result's detailed JSON turned into a ``Segment`` (confidence, words, language,
  the one ``Speaker-1`` label when diarization is off).
- ``channels``: ``recognise_channels``, one session per channel, side by side.

Importing this package (any of its modules) loads the Speech SDK's native library: callers import it
inside the invocation path, never at module level, so a cold start of the function app does not pay
for it.
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
    """Recognise one reader, or several channels at once (one session each, labelled ``Channel-N`` or
    with the options' ``channel_names``).

    ``on_progress(seconds)`` gets the audio recognised so far (with channels: of the channel furthest
    behind). ``options=None`` applies the app's defaults, ``settings.recognition`` (the ``SPEECH_*``
    settings), as the pipeline does for a recording that asks for nothing.
    """
    options = options_or_default(settings, options)
    if len(readers) == 1:
        with SpeechSession(settings, token, readers[0], on_progress, options) as session:
            return session.run()
    return recognise_channels(settings, token, readers, on_progress, options)
