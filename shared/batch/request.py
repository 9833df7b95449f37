"""What one batch transcription asks for: its URLs on ``SPEECH_ENDPOINT``'s host, and the submission, the
recording's options in the API's words (``docs/engines.md`` maps each; the option rules refused the rest).

The audio goes as its plain blob URL: the Speech resource's system-assigned identity reads it as a trusted
Azure service, so the submission carries no SAS, no key and no token (``require_plain``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from shared.errors import ConfigurationError
from shared.fast.request import MOST_SPEAKERS, PROFANITY
from shared.options import RecognitionOptions
from shared.platform.speech_rest import rest_url

API_VERSION = "2025-10-15"
TRANSCRIPTIONS_PATH = "/speechtotext/transcriptions"
#: Sent as ``timeToLiveHours`` (6 h to 31 days), and this app's own deadline: a transcription not finished
#: this long after it was submitted is given up and submitted again. At peak the service takes up to 24 h.
TIME_TO_LIVE_HOURS = 48
#: A transcription's id, as the service names it in ``self`` URLs: a UUID.
_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SELF_PATH = re.compile(rf"/transcriptions/({_ID.pattern})$")


def submit_url(endpoint: str) -> str:
    return rest_url(endpoint, f"{TRANSCRIPTIONS_PATH}:submit", API_VERSION)


def transcription_url(endpoint: str, transcription_id: str, part: str = "") -> str:
    """The transcription's own URL (``part``: ``/files``), built from ``SPEECH_ENDPOINT``, never from an
    answer or a callback: a forged ``self`` can point this app nowhere else."""
    return rest_url(endpoint, f"{TRANSCRIPTIONS_PATH}/{parse_id(transcription_id)}{part}", API_VERSION)


def parse_id(value: object) -> str:
    """``value`` if it is a transcription id, else ``ValueError``."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError("not a transcription id")
    return value.lower()


def id_from_self(url: object) -> str | None:
    """The id at the end of a ``self`` URL's path (any API version's), or ``None``."""
    if not isinstance(url, str):
        return None
    found = _SELF_PATH.search(urlsplit(url).path)
    return found.group(1).lower() if found else None


def require_plain(url: str) -> str:
    """``url`` if it is a plain https/http blob URL: no query (a SAS), no user info (a key)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or "@" in parts.netloc or parts.scheme not in ("https", "http"):
        raise ConfigurationError("the recording's URL for batch transcription must be a plain blob URL, no SAS")
    return url


def submission(
    content_url: str, options: RecognitionOptions, channel_mode: str, display_name: str
) -> dict[str, object]:
    """The body of ``transcriptions:submit``: one plain URL, two channels apart (``CHANNEL_MODE=separate``) or
    the one channel of a mono recording, diarized unless ``diarization`` is off."""
    properties: dict[str, object] = {
        "timeToLiveHours": TIME_TO_LIVE_HOURS,
        "wordLevelTimestampsEnabled": options.words,
        "displayFormWordLevelTimestampsEnabled": options.words,
        "profanityFilterMode": PROFANITY[options.profanity],
        "punctuationMode": "DictatedAndAutomatic",
        "channels": [0, 1] if channel_mode == "separate" else [0],
    }
    if channel_mode != "separate" and options.diarization:
        properties["diarization"] = {"enabled": True, "maxSpeakers": options.max_speakers or MOST_SPEAKERS}
    if options.identifies_language:
        properties["languageIdentification"] = {"candidateLocales": list(options.languages), "mode": "Continuous"}
    return {
        "contentUrls": [require_plain(content_url)],
        "locale": options.languages[0],
        "displayName": display_name[-200:] or "recording",
        "properties": properties,
    }
