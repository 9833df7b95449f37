"""What one fast transcription request asks for: its URL and its ``definition``, the recording's options in the
API's words (``docs/engines.md`` maps each; the option rules refused the ones it has no word for).
"""

from __future__ import annotations

import json

from shared.options import RecognitionOptions
from shared.platform.speech_rest import rest_url

API_PATH = "/speechtotext/transcriptions:transcribe"
API_VERSION = "2025-10-15"
#: ``profanity`` in the API's words: its ``None`` is our ``raw``.
PROFANITY = {"masked": "Masked", "removed": "Removed", "raw": "None"}
#: Diarization without ``max_speakers`` asks for the API's most: real-time has no cap, and the API's default
#: when ``maxSpeakers`` is left out is not documented.
MOST_SPEAKERS = 35


def transcribe_url(endpoint: str) -> str:
    """The fast API's URL on ``SPEECH_ENDPOINT``'s host."""
    return rest_url(endpoint, API_PATH, API_VERSION)


def definition(options: RecognitionOptions, channel_mode: str) -> bytes:
    """The ``definition`` part: locales (several: identified per phrase), phrase list, profanity, and either
    two channels apart (``CHANNEL_MODE=separate``, each its own speaker) or diarization."""
    body: dict[str, object] = {
        "locales": list(options.languages),
        "profanityFilterMode": PROFANITY[options.profanity],
    }
    if options.phrases:
        body["phraseList"] = {"phrases": list(options.phrases)}
    if channel_mode == "separate":
        body["channels"] = [0, 1]
    elif options.diarization:
        body["diarization"] = {"enabled": True, "maxSpeakers": options.max_speakers or MOST_SPEAKERS}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
