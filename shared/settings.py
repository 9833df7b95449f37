"""App settings, read once per invocation into one immutable object and passed inward.

Reading settings at the edge (not at import) means a changed app setting takes effect on the next
invocation and a test can pass its own mapping; nothing global holds a client or a credential.
Every name read here is listed in ``APP_SETTING_NAMES`` so the infra tests can check that the Bicep
template sets what the code reads (``tests/test_infra.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from shared.errors import ConfigurationError

#: The connection prefix shared by the blob trigger binding and ``shared.storage``: in Azure the app
#: settings ``AudioStorage__blobServiceUri`` / ``__queueServiceUri`` / ``__credential`` / ``__clientId``.
STORAGE_CONNECTION = "AudioStorage"

SPEECH_ENDPOINT = "SPEECH_ENDPOINT"
SPEECH_LANGUAGE = "SPEECH_LANGUAGE"
INPUT_CONTAINER = "INPUT_CONTAINER"
OUTPUT_CONTAINER = "OUTPUT_CONTAINER"
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
TOKEN_CREDENTIAL = "TOKEN_CREDENTIAL"
TOKEN_TIMEOUT_SECONDS = "TOKEN_TIMEOUT_SECONDS"
SPEECH_IDLE_TIMEOUT_SECONDS = "SPEECH_IDLE_TIMEOUT_SECONDS"
TRANSCRIPTION_DEADLINE_SECONDS = "TRANSCRIPTION_DEADLINE_SECONDS"
SPEECH_SEND_FAST = "SPEECH_SEND_FAST"
HTTP_MAX_BYTES = "HTTP_MAX_BYTES"
CHANNEL_MODE = "CHANNEL_MODE"
MAX_AUDIO_MINUTES = "MAX_AUDIO_MINUTES"
MAX_AUDIO_BYTES = "MAX_AUDIO_BYTES"
SYNC_MAX_BYTES = "SYNC_MAX_BYTES"
SYNC_MAX_SECONDS = "SYNC_MAX_SECONDS"
OUTPUT_FORMATS = "OUTPUT_FORMATS"
COMPLETION_QUEUE = "COMPLETION_QUEUE"
JOB_PROGRESS_SECONDS = "JOB_PROGRESS_SECONDS"

BLOB_SERVICE_URI = f"{STORAGE_CONNECTION}__blobServiceUri"
QUEUE_SERVICE_URI = f"{STORAGE_CONNECTION}__queueServiceUri"
STORAGE_CREDENTIAL = f"{STORAGE_CONNECTION}__credential"
STORAGE_CLIENT_ID = f"{STORAGE_CONNECTION}__clientId"

#: Settings without a safe default: the app cannot run without them.
REQUIRED_SETTINGS = frozenset({SPEECH_ENDPOINT})

#: Every setting this package reads (required or optional).
APP_SETTING_NAMES = frozenset(
    {
        SPEECH_ENDPOINT,
        SPEECH_LANGUAGE,
        INPUT_CONTAINER,
        OUTPUT_CONTAINER,
        AZURE_CLIENT_ID,
        TOKEN_CREDENTIAL,
        TOKEN_TIMEOUT_SECONDS,
        SPEECH_IDLE_TIMEOUT_SECONDS,
        TRANSCRIPTION_DEADLINE_SECONDS,
        SPEECH_SEND_FAST,
        HTTP_MAX_BYTES,
        CHANNEL_MODE,
        MAX_AUDIO_MINUTES,
        MAX_AUDIO_BYTES,
        SYNC_MAX_BYTES,
        SYNC_MAX_SECONDS,
        OUTPUT_FORMATS,
        COMPLETION_QUEUE,
        JOB_PROGRESS_SECONDS,
        STORAGE_CONNECTION,
        BLOB_SERVICE_URI,
        QUEUE_SERVICE_URI,
        STORAGE_CREDENTIAL,
        STORAGE_CLIENT_ID,
    }
)

#: Credentials ``shared.token`` can create per invocation. ``azurecli`` is for developers running
#: against real Azure from their own machine; it is never the default.
TOKEN_CREDENTIALS = ("managedidentity", "azurecli")

#: ``CHANNEL_MODE``: ``mix`` downmixes every channel into one and lets diarization tell speakers apart;
#: ``separate`` transcribes each channel of a multi-channel recording as its own speaker (call recordings:
#: agent on one channel, customer on the other, where diarization of the mix fails).
CHANNEL_MODES = ("mix", "separate")

_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class StorageSettings:
    """How to reach blob storage: identity-based URIs (Azure), or a connection string (local Azurite)."""

    blob_service_uri: str | None
    queue_service_uri: str | None
    client_id: str | None
    connection_string: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything one invocation needs to know, validated."""

    speech_endpoint: str
    speech_language: str = "en-US"
    input_container: str = "audio-in"
    output_container: str = "transcripts"
    azure_client_id: str | None = None
    token_credential: str = "managedidentity"
    token_timeout_seconds: float = 10.0
    speech_idle_timeout_seconds: float = 60.0
    transcription_deadline_seconds: float = 3 * 3600.0
    speech_send_fast: bool = True
    http_max_bytes: int = 25 * 1024 * 1024
    channel_mode: str = "mix"
    #: 240 min is the Speech service's cap for real-time diarization.
    max_audio_minutes: float = 240.0
    #: 4 GiB: a 240-minute WAV of 48 kHz stereo 24-bit is just under it; compressed audio is far smaller.
    max_audio_bytes: int = 4 * 1024**3
    #: ``POST /api/transcriptions`` answers in the request only below both: it must end within the
    #: platform's 230 s; anything longer becomes a job (202).
    sync_max_bytes: int = 10 * 1024 * 1024
    sync_max_seconds: float = 120.0
    #: What the blob path writes beside the audio. ``json`` is always written: it marks the ETag done.
    output_formats: tuple[str, ...] = ("json", "txt", "srt", "vtt")
    #: The storage queue that gets a message when a job ends; ``None``: no message.
    completion_queue: str | None = None
    #: How often a running job's progress is written to its status document.
    job_progress_seconds: float = 15.0
    storage: StorageSettings | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; a ``ConfigurationError`` names the first bad one."""
        env = os.environ if env is None else env
        endpoint = _required(env, SPEECH_ENDPOINT)
        scheme = urlparse(endpoint).scheme
        if scheme not in ("https", "wss", "ws", "http") or not urlparse(endpoint).netloc:
            raise ConfigurationError(
                f"{SPEECH_ENDPOINT} must be an https:// Speech endpoint (custom domain) or a ws:// host "
                f"such as the local emulator's, got {endpoint!r}"
            )
        language = env.get(SPEECH_LANGUAGE, "").strip() or cls.speech_language
        if not _LANGUAGE.match(language):
            raise ConfigurationError(f"{SPEECH_LANGUAGE} must be a locale such as en-US, got {language!r}")
        credential = (env.get(TOKEN_CREDENTIAL, "").strip() or cls.token_credential).lower()
        if credential not in TOKEN_CREDENTIALS:
            choices = ", ".join(TOKEN_CREDENTIALS)
            raise ConfigurationError(f"{TOKEN_CREDENTIAL} must be one of {choices}, got {credential!r}")
        return cls(
            speech_endpoint=endpoint,
            speech_language=language,
            input_container=_container(env, INPUT_CONTAINER, cls.input_container),
            output_container=_container(env, OUTPUT_CONTAINER, cls.output_container),
            azure_client_id=env.get(AZURE_CLIENT_ID, "").strip() or None,
            token_credential=credential,
            token_timeout_seconds=_number(env, TOKEN_TIMEOUT_SECONDS, cls.token_timeout_seconds),
            speech_idle_timeout_seconds=_number(env, SPEECH_IDLE_TIMEOUT_SECONDS, cls.speech_idle_timeout_seconds),
            transcription_deadline_seconds=_number(
                env, TRANSCRIPTION_DEADLINE_SECONDS, cls.transcription_deadline_seconds
            ),
            speech_send_fast=_flag(env, SPEECH_SEND_FAST, cls.speech_send_fast),
            http_max_bytes=int(_number(env, HTTP_MAX_BYTES, cls.http_max_bytes)),
            channel_mode=_choice(env, CHANNEL_MODE, CHANNEL_MODES, cls.channel_mode),
            max_audio_minutes=_number(env, MAX_AUDIO_MINUTES, cls.max_audio_minutes),
            max_audio_bytes=int(_number(env, MAX_AUDIO_BYTES, cls.max_audio_bytes)),
            sync_max_bytes=int(_number(env, SYNC_MAX_BYTES, cls.sync_max_bytes)),
            sync_max_seconds=_number(env, SYNC_MAX_SECONDS, cls.sync_max_seconds),
            output_formats=_output_formats(env),
            completion_queue=_queue(env, COMPLETION_QUEUE),
            job_progress_seconds=_number(env, JOB_PROGRESS_SECONDS, cls.job_progress_seconds),
            storage=_storage(env),
        )

    def describe(self) -> dict[str, object]:
        """The configuration state without secrets, for ``GET /api/health`` and logs."""
        storage = self.storage
        return {
            "speech_endpoint": self.speech_endpoint,
            "speech_language": self.speech_language,
            "input_container": self.input_container,
            "output_container": self.output_container,
            "token_credential": self.token_credential,
            "channel_mode": self.channel_mode,
            "user_assigned_identity": bool(self.azure_client_id),
            "storage": None
            if storage is None
            else {
                "blob_service_uri": storage.blob_service_uri,
                "identity_based": storage.connection_string is None,
            },
        }


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"app setting {name} is missing")
    return value


def _container(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _CONTAINER_NAME.match(value):
        raise ConfigurationError(f"{name} must be a blob container name (3-63 of a-z, 0-9, -), got {value!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}")
    return value


def _output_formats(env: Mapping[str, str]) -> tuple[str, ...]:
    from shared.subtitles import FORMATS

    raw = env.get(OUTPUT_FORMATS, "").strip().lower()
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(Settings.output_formats)
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ConfigurationError(f"{OUTPUT_FORMATS} must list formats from {', '.join(FORMATS)}, got {unknown[0]!r}")
    return tuple(dict.fromkeys(["json", *names]))  # json first and always: it marks the blob done


def _queue(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip() or None
    if value is not None and not _QUEUE_NAME.match(value):
        raise ConfigurationError(f"{name} must be a queue name (3-63 of a-z, 0-9, -), got {value!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _storage(env: Mapping[str, str]) -> StorageSettings | None:
    """Identity-based settings win; a bare ``AudioStorage`` connection string is the local fallback."""
    blob_uri = env.get(BLOB_SERVICE_URI, "").strip() or None
    if blob_uri:
        credential = env.get(STORAGE_CREDENTIAL, "").strip().lower() or "managedidentity"
        if credential != "managedidentity":
            raise ConfigurationError(f"{STORAGE_CREDENTIAL} must be managedidentity, got {credential!r}")
        return StorageSettings(
            blob_service_uri=blob_uri,
            queue_service_uri=env.get(QUEUE_SERVICE_URI, "").strip() or None,
            client_id=env.get(STORAGE_CLIENT_ID, "").strip() or None,
        )
    connection_string = env.get(STORAGE_CONNECTION, "").strip() or None
    if connection_string:
        return StorageSettings(None, None, None, connection_string=connection_string)
    return None
