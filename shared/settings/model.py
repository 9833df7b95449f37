"""The ``Settings`` object: everything one invocation needs to know, read once and validated.

Read at the edge, not at import: a changed app setting takes effect on the next invocation, and a test can
pass its own mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from shared.errors import ConfigurationError
from shared.options import RecognitionOptions, from_settings
from shared.output import FORMAT_NAMES
from shared.platform.retry_policy import FUNCTION_TIMEOUT_SECONDS, SWEEP_RUN_SECONDS, TIMEOUT_MARGIN_SECONDS
from shared.settings import names as n
from shared.settings import values

#: ``azurecli``: a developer's own login against Azure; ``none``: no Speech token, for a ws:// or http:// host
#: that takes none (a Speech container, the emulator). Neither is ever the default.
TOKEN_CREDENTIALS = ("managedidentity", "azurecli", "none")

#: ``mix``: one downmix, speakers told apart by diarization; ``separate``: each channel its own speaker (call
#: recordings, where diarization of the mix fails).
CHANNEL_MODES = ("mix", "separate")

#: The largest body the Functions front end lets through (its request limit is 100 MB).
MAX_HTTP_BODY_BYTES = 100 * 1024 * 1024
#: An HTTP request must end within the platform's 230 s.
HTTP_REQUEST_SECONDS = 230.0
#: How long an upload URL of ``POST /api/uploads`` is valid; a job may not expire before it has lapsed.
UPLOAD_URL_MINUTES = 15.0
#: The shortest a timeout setting may be: within less, no token fetch, storage call or Speech answer could end.
MIN_TIMEOUT_SECONDS = 1.0
#: The shortest ``TRANSCRIPTION_DEADLINE_SECONDS``: less would end a minute's recording before its end.
MIN_DEADLINE_SECONDS = 60.0
#: The shortest ``SPEECH_WEBHOOK_SECRET``: a shorter HMAC key could be guessed (``infra/`` makes a GUID, 36).
MIN_WEBHOOK_SECRET_CHARS = 16


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
    input_container: str = "audio-in"
    output_container: str = "transcripts"
    azure_client_id: str | None = None
    token_credential: str = "managedidentity"
    token_timeout_seconds: float = 10.0
    #: One storage operation, its retries included.
    storage_timeout_seconds: float = 30.0
    speech_idle_timeout_seconds: float = 60.0
    #: A 240-minute recording at real-time pace, plus room; with the start retries and the sweep's last start
    #: it still ends inside host.json's ``functionTimeout`` (``_check_fits_function_timeout``).
    transcription_deadline_seconds: float = 15000.0
    speech_send_fast: bool = True
    http_max_bytes: int = 25 * 1024 * 1024
    channel_mode: str = "mix"
    #: 240 min is the Speech service's cap for real-time diarization.
    max_audio_minutes: float = 240.0
    #: 4 GiB: a 240-minute WAV of 48 kHz stereo 24-bit is just under it; compressed audio is far smaller.
    max_audio_bytes: int = 4 * 1024**3
    #: ``POST /api/transcriptions`` answers in the request only below both (230 s); anything longer is a job.
    sync_max_bytes: int = 10 * 1024 * 1024
    sync_max_seconds: float = 120.0
    #: What the blob path writes beside the audio. ``json`` is always written: it marks the ETag done.
    output_formats: tuple[str, ...] = FORMAT_NAMES
    #: The storage queue that gets a message when a job ends; ``None``: no message.
    completion_queue: str | None = None
    #: How often a running job's progress is written to its status document.
    job_progress_seconds: float = 15.0
    #: How long one invocation keeps retrying a session start the service refused (429 past the quota).
    speech_start_retry_seconds: float = 300.0
    #: When the sweep runs (NCRONTAB, read by the host's timer trigger) and how many it transcribes at once.
    sweep_schedule: str = "0 */5 * * * *"
    sweep_concurrency: int = 4
    #: Failed tries of one recording (throttling not counted) before it is given up as permanently failed.
    max_attempts: int = 20
    #: A job whose audio never arrived is ``expired`` this long after it was created.
    job_queued_ttl_minutes: float = 60.0
    #: The recognition options a recording gets unless it says otherwise (``shared.options``).
    recognition: RecognitionOptions = RecognitionOptions()
    storage: StorageSettings | None = None
    #: The batch web hook's HMAC key; ``None``: every callback is refused (the sweep still finishes them all).
    webhook_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; a ``ConfigurationError`` names the first bad one."""
        env = os.environ if env is None else env
        speech = _speech(env)
        recognition = from_settings(env, speech["channel_mode"])
        timeouts, recovery = _timeouts(env), _recovery(env)
        _check_fits_function_timeout(timeouts, recovery)
        return cls(
            **speech,
            **timeouts,
            **_limits(env),
            **_outputs(env),
            **recovery,
            recognition=recognition,
            storage=_storage(env),
            webhook_secret=_webhook_secret(env),
        )

    @property
    def speech_language(self) -> str:
        """The first of the default languages (``en-US`` unless set)."""
        return self.recognition.languages[0]

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
            "recognition": self.recognition.to_dict(),
            "user_assigned_identity": bool(self.azure_client_id),
            "batch_webhook_secret": bool(self.webhook_secret),
            "storage": None
            if storage is None
            else {
                "blob_service_uri": storage.blob_service_uri,
                "identity_based": storage.connection_string is None,
            },
        }


def _speech(env: Mapping[str, str]) -> dict[str, object]:
    endpoint = values.required(env, n.SPEECH_ENDPOINT)
    parts = urlparse(endpoint)
    if parts.scheme not in ("https", "wss", "ws", "http") or not parts.netloc:
        raise ConfigurationError(
            f"{n.SPEECH_ENDPOINT} must be an https:// Speech endpoint (custom domain) or a ws:// host "
            f"such as the local emulator's, got {endpoint!r}"
        )
    credential = values.choice(env, n.TOKEN_CREDENTIAL, TOKEN_CREDENTIALS, Settings.token_credential)
    if credential == "none" and parts.scheme not in ("ws", "http"):
        raise ConfigurationError(
            f"{n.TOKEN_CREDENTIAL}=none (no Speech token) is only for a ws:// or http:// host "
            f"such as a Speech container; {n.SPEECH_ENDPOINT} is {endpoint!r}"
        )
    return {
        "speech_endpoint": endpoint,
        "azure_client_id": env.get(n.AZURE_CLIENT_ID, "").strip() or None,
        "token_credential": credential,
        "speech_send_fast": values.flag(env, n.SPEECH_SEND_FAST, Settings.speech_send_fast),
        "channel_mode": values.choice(env, n.CHANNEL_MODE, CHANNEL_MODES, Settings.channel_mode),
    }


def _timeouts(env: Mapping[str, str]) -> dict[str, object]:
    """The waits, each with a floor: ``1e-300`` is a positive number, and a timeout no answer can beat would
    fail every token fetch, storage call or session as a fault of the service instead of naming the setting."""

    def timeout(name: str, default: float, most: float, least: float = MIN_TIMEOUT_SECONDS) -> float:
        return values.number(env, name, default, most=most, least=least)

    return {
        "token_timeout_seconds": timeout(n.TOKEN_TIMEOUT_SECONDS, Settings.token_timeout_seconds, 600),
        "storage_timeout_seconds": timeout(n.STORAGE_TIMEOUT_SECONDS, Settings.storage_timeout_seconds, 600),
        "speech_idle_timeout_seconds": timeout(
            n.SPEECH_IDLE_TIMEOUT_SECONDS, Settings.speech_idle_timeout_seconds, 3600
        ),
        "transcription_deadline_seconds": timeout(
            n.TRANSCRIPTION_DEADLINE_SECONDS,
            Settings.transcription_deadline_seconds,
            24 * 3600,
            least=MIN_DEADLINE_SECONDS,
        ),
        "job_progress_seconds": timeout(n.JOB_PROGRESS_SECONDS, Settings.job_progress_seconds, 3600),
    }


def _limits(env: Mapping[str, str]) -> dict[str, object]:
    return {
        "http_max_bytes": values.whole_number(env, n.HTTP_MAX_BYTES, Settings.http_max_bytes, most=MAX_HTTP_BODY_BYTES),
        "max_audio_minutes": values.number(env, n.MAX_AUDIO_MINUTES, Settings.max_audio_minutes, most=24 * 60),
        "max_audio_bytes": values.whole_number(env, n.MAX_AUDIO_BYTES, Settings.max_audio_bytes, most=2**40),
        "sync_max_bytes": values.whole_number(env, n.SYNC_MAX_BYTES, Settings.sync_max_bytes, most=MAX_HTTP_BODY_BYTES),
        "sync_max_seconds": values.number(
            env, n.SYNC_MAX_SECONDS, Settings.sync_max_seconds, most=HTTP_REQUEST_SECONDS
        ),
    }


def _outputs(env: Mapping[str, str]) -> dict[str, object]:
    """Where audio lands and results go: two containers, or every result would land as a recording too."""
    inputs = values.container(env, n.INPUT_CONTAINER, Settings.input_container)
    outputs = values.container(env, n.OUTPUT_CONTAINER, Settings.output_container)
    if inputs == outputs:
        raise ConfigurationError(
            f"{n.INPUT_CONTAINER} and {n.OUTPUT_CONTAINER} must name two containers, both "
            f"are {inputs!r}: each result would be taken for a new recording"
        )
    return {
        "input_container": inputs,
        "output_container": outputs,
        "output_formats": _output_formats(env),
        "completion_queue": values.queue(env, n.COMPLETION_QUEUE),
    }


def _recovery(env: Mapping[str, str]) -> dict[str, object]:
    """How failures are retried: inside an invocation, by the host, and by the sweep."""
    return {
        "speech_start_retry_seconds": values.number(
            env, n.SPEECH_START_RETRY_SECONDS, Settings.speech_start_retry_seconds, most=3600
        ),
        "sweep_schedule": values.schedule(env, n.SWEEP_SCHEDULE, Settings.sweep_schedule),
        "sweep_concurrency": values.whole_number(env, n.SWEEP_CONCURRENCY, Settings.sweep_concurrency, most=64),
        "max_attempts": values.whole_number(env, n.MAX_ATTEMPTS, Settings.max_attempts, most=1000),
        "job_queued_ttl_minutes": values.number(
            env, n.JOB_QUEUED_TTL_MINUTES, Settings.job_queued_ttl_minutes, most=30 * 24 * 60, least=UPLOAD_URL_MINUTES
        ),
    }


def _check_fits_function_timeout(timeouts: Mapping[str, object], recovery: Mapping[str, object]) -> None:
    """The longest invocation the settings allow (the sweep's last start, the start retries, then a session
    at its deadline) must end inside ``functionTimeout``, or the host would kill it half-way, unrecorded."""
    retries, deadline = recovery["speech_start_retry_seconds"], timeouts["transcription_deadline_seconds"]
    room = FUNCTION_TIMEOUT_SECONDS - SWEEP_RUN_SECONDS - TIMEOUT_MARGIN_SECONDS
    if retries + deadline > room:
        raise ConfigurationError(
            f"{n.SPEECH_START_RETRY_SECONDS} ({retries:g}) + {n.TRANSCRIPTION_DEADLINE_SECONDS} ({deadline:g}) must "
            f"be at most {room:g} s: host.json's functionTimeout is {FUNCTION_TIMEOUT_SECONDS:g} s"
        )


def _webhook_secret(env: Mapping[str, str]) -> str | None:
    secret = env.get(n.SPEECH_WEBHOOK_SECRET, "").strip() or None
    if secret is not None and (len(secret) < MIN_WEBHOOK_SECRET_CHARS or not secret.isascii()):
        raise ConfigurationError(
            f"{n.SPEECH_WEBHOOK_SECRET} must be at least {MIN_WEBHOOK_SECRET_CHARS} ASCII characters (infra/ "
            "generates one); its value is not shown"
        )
    return secret


def _output_formats(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get(n.OUTPUT_FORMATS, "").strip().lower()
    names = [f.strip() for f in raw.split(",") if f.strip()] if raw else list(Settings.output_formats)
    unknown = [f for f in names if f not in FORMAT_NAMES]
    if unknown:
        raise ConfigurationError(
            f"{n.OUTPUT_FORMATS} must list formats from {', '.join(FORMAT_NAMES)}, got {unknown[0]!r}"
        )
    return tuple(dict.fromkeys(["json", *names]))  # json first and always: it marks the blob done


def _storage(env: Mapping[str, str]) -> StorageSettings | None:
    """Identity-based settings win; a bare ``AudioStorage`` connection string is the local fallback."""
    blob_uri = env.get(n.BLOB_SERVICE_URI, "").strip() or None
    if blob_uri:
        credential = env.get(n.STORAGE_CREDENTIAL, "").strip().lower() or "managedidentity"
        if credential != "managedidentity":
            raise ConfigurationError(f"{n.STORAGE_CREDENTIAL} must be managedidentity, got {credential!r}")
        return StorageSettings(
            blob_service_uri=blob_uri,
            queue_service_uri=env.get(n.QUEUE_SERVICE_URI, "").strip() or None,
            client_id=env.get(n.STORAGE_CLIENT_ID, "").strip() or None,
        )
    connection_string = env.get(n.STORAGE_CONNECTION, "").strip() or None
    if connection_string:
        return StorageSettings(None, None, None, connection_string=connection_string)
    return None
