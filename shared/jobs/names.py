"""Job ids and the blob names built from them: the one place their patterns are written.

An id is 26 lowercase Crockford base32 characters: 10 of *inverted* milliseconds (``2**48 - 1 - ms``), then
80 random bits. Listings come in ascending name order only, so inverted time lists the newest job first,
and a page of recent jobs costs one request however many exist. Names are built from a validated id only:
the audio ``<input>/jobs/<id>.<ext>``, and ``<output>/jobs/<id>/status.json`` (in the output container, as a
write into the input one would fire the trigger; never a result's name, which has no ``/`` after the id).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from shared.errors import JobNotFoundError

#: The folder of job blobs, in the input and in the output container.
JOBS_PREFIX = "jobs/"

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS, _RANDOM_CHARS = 10, 16
_MAX_MS = (1 << 48) - 1
#: A job id: 10 base32 characters hold 50 bits and the time uses 48, so the first is at most 7.
JOB_ID_PATTERN = r"[0-7][0-9a-hjkmnp-tv-z]{25}"
#: A file extension of job audio, as stored (lowercase).
EXTENSION_PATTERN = r"[a-z0-9]{1,10}"

_ID = re.compile(JOB_ID_PATTERN)
_EXTENSION = re.compile(EXTENSION_PATTERN)
_AUDIO_NAME = re.compile(rf"{JOBS_PREFIX}({JOB_ID_PATTERN})\.{EXTENSION_PATTERN}")
_STATUS_NAME = re.compile(rf"{JOBS_PREFIX}({JOB_ID_PATTERN})/status\.json")


def new_job_id(now: datetime | None = None) -> str:
    """A fresh id: inverted-time prefix (newest sorts first) + 80 random bits."""
    ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    return _base32(_MAX_MS - ms, _TIME_CHARS) + _base32(secrets.randbits(5 * _RANDOM_CHARS), _RANDOM_CHARS)


def parse_job_id(value: object) -> str:
    """``value`` if it is a well-formed job id, else ``JobNotFoundError``: call it on every id from outside."""
    if isinstance(value, str) and len(value) == _TIME_CHARS + _RANDOM_CHARS and _ID.fullmatch(value):
        return value
    shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
    raise JobNotFoundError(f"no transcription job {shown}")


def is_job_id(value: object) -> bool:
    """Whether ``value`` is a well-formed job id (``parse_job_id`` without the exception)."""
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def job_created_at(job_id: str) -> datetime:
    """When the id was made (from its time prefix, to the millisecond)."""
    value = 0
    for char in parse_job_id(job_id)[:_TIME_CHARS]:
        value = value * 32 + _ALPHABET.index(char)
    return datetime.fromtimestamp((_MAX_MS - value) / 1000, UTC)


def audio_extension(text: str | None) -> str:
    """The extension job audio is stored under (cosmetic: the content decides the format): ``text`` lowercased
    if it is one, else ``bin``; never one that would get the audio refused for its name."""
    from shared.recordings.input_names import colliding_endings

    value = (text or "").lower()
    return value if _EXTENSION.fullmatch(value) and f".{value}" not in colliding_endings() else "bin"


def audio_blob_name(job_id: str, extension: str) -> str:
    """``jobs/<id>.<ext>`` in the input container; ``extension`` is 1-10 of ``[a-z0-9]`` (``ValueError``)."""
    if not isinstance(extension, str) or not _EXTENSION.fullmatch(extension):
        raise ValueError(f"not a file extension for job audio: {str(extension)[:20]!r}")
    return f"{JOBS_PREFIX}{parse_job_id(job_id)}.{extension}"


def job_id_from_blob_name(name: str) -> str | None:
    """The job id of an input blob named exactly ``jobs/<id>.<ext>``; ``None`` for any other name."""
    match = _AUDIO_NAME.fullmatch(name) if isinstance(name, str) else None
    return match.group(1) if match else None


def status_blob_name(job_id: str) -> str:
    """``jobs/<id>/status.json`` in the output container."""
    return f"{JOBS_PREFIX}{parse_job_id(job_id)}/status.json"


def job_id_from_status_name(name: str) -> str | None:
    """The job id of an output blob named exactly ``jobs/<id>/status.json``; ``None`` otherwise."""
    match = _STATUS_NAME.fullmatch(name) if isinstance(name, str) else None
    return match.group(1) if match else None


def _base32(value: int, chars: int) -> str:
    out = []
    for _ in range(chars):
        value, digit = divmod(value, 32)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))
