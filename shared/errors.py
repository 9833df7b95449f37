"""The error taxonomy: each failure's code, HTTP status and retry behaviour, decided here once.

    TranscriptionError                  permanent unless marked *: recorded, not retried
    ├── ServiceError *                  the Speech service failed, or the connection dropped
    │   ├── SpeechTimeoutError *
    │   └── SpeechUnreachableError *
    ├── ThrottledError *, IdentityUnavailableError *
    ├── StorageError *
    │   └── StorageAccessDeniedError *
    ├── ConfigurationError, InternalError, AuthenticationError, BadRequestError, StorageRefusedError
    ├── UnsupportedAudioError, AudioTooLargeError, InvalidOptionsError, NameRefusedError, RetriesExhaustedError
    ├── the jobs API: InvalidRequestError, InvalidJobQueryError, NotAcceptableError, JobNotFoundError,
    │   NotReadyError, JobStateError, JobExpiredError, JobFinishedError
    └── the batch callback: SignatureError, UnknownTranscriptionError

A transient (*) error is re-raised by the blob door for the host to deliver again; after the host's last
delivery the sweep retries it (``docs/recovery.md``).
"""

from __future__ import annotations

import re
import sys

#: What must not reach an HTTP client: URLs (a host, a SAS in the query), hosts and ports (urllib3's
#: ``host='10.0.0.4', port=443``), IP addresses, and the SDK's 32-hex-digit connection ids.
_URL = re.compile(r"\b(?:https?|wss?)://[^\s'\"<>]+")
_POOL = re.compile(r"host='[^']*', port=\d+")
_QUERY = re.compile(r"\?[\w.%-]+=[^\s'\")]*")  # a path's query, as in "with url: /c/b.wav?comp=block"
_HOST_PORT = re.compile(r"\b(?:localhost|[\w-]+(?:\.[\w-]+)+):\d{1,5}\b")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_HEX_ID = re.compile(r"\b[0-9a-fA-F]{32}\b")


def public_message(message: str) -> str:
    """``message`` as an HTTP client may see it: what failed, not where (the full text stays in the logs)."""
    for pattern, stand_in in (
        (_URL, "<endpoint>"),
        (_POOL, "<endpoint>"),
        (_HOST_PORT, "<endpoint>"),
        (_IP, "<address>"),
        (_QUERY, ""),
        (_HEX_ID, "<id>"),
    ):
        message = pattern.sub(stand_in, message)
    return message


class TranscriptionError(Exception):
    """Base class. ``code`` is a stable name; ``details`` what the SDK said; ``retry_after_seconds`` a 503's
    ``Retry-After``."""

    code = "transcription_failed"
    transient = False
    http_status = 500
    retry_after_seconds: int | None = None

    def __init__(
        self, message: str, *, details: str = "", sdk_error_code: str = "", refused_at_start: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.sdk_error_code = sdk_error_code
        #: The service turned the session away before it began: nothing was transcribed, so try again.
        self.refused_at_start = refused_at_start

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form for the operator's ``.error.json`` and logs: everything, ``details`` included."""
        body = {"code": self.code, "message": self.message}
        if self.sdk_error_code:
            body["sdk_error_code"] = self.sdk_error_code
        if self.details:
            body["details"] = self.details
        return body

    def public_dict(self) -> dict[str, str]:
        """What an HTTP client is told, and a job's status document keeps: no ``details`` (they name internal
        endpoints), and the message through ``public_message``."""
        body = {"code": self.code, "message": public_message(self.message)}
        if self.sdk_error_code:
            body["sdk_error_code"] = self.sdk_error_code
        return body


class ConfigurationError(TranscriptionError):
    """A missing or malformed app setting; names the setting."""

    code = "configuration_error"
    http_status = 500


class InternalError(TranscriptionError):
    """A failure no class here describes (a bug). Permanent: a loop of retries would hide the bug."""

    code = "internal_error"
    http_status = 500


class UnsupportedAudioError(TranscriptionError):
    """The input is not audio this pipeline can transcribe; says what was found."""

    code = "unsupported_audio"
    http_status = 415


class AudioTooLargeError(TranscriptionError):
    """The input is larger than the configured limit."""

    code = "audio_too_large"
    http_status = 413


class AuthenticationError(TranscriptionError):
    """The Speech service (or storage) refused our token: a role or endpoint problem, not a blip."""

    code = "authentication_failed"
    http_status = 502


class IdentityUnavailableError(TranscriptionError):
    """No token could be fetched in time: the identity endpoint is down, slow or misconfigured."""

    code = "identity_unavailable"
    transient = True
    http_status = 503
    retry_after_seconds = 10


class ThrottledError(TranscriptionError):
    """The Speech service said too many requests; retry later."""

    code = "throttled"
    transient = True
    http_status = 503
    retry_after_seconds = 30


class ServiceError(TranscriptionError):
    """The Speech service failed or the connection dropped; retry may pass."""

    code = "service_error"
    transient = True
    http_status = 502


class SpeechTimeoutError(ServiceError):
    """The session did not finish before its deadline (a stalled service or connection)."""

    code = "speech_timeout"


class SpeechUnreachableError(ServiceError):
    """``SPEECH_ENDPOINT`` takes no connection at all. Transient: an outage looks the same from here, and
    must not fail a recording for good."""

    code = "speech_unreachable"


class BadRequestError(TranscriptionError):
    """The Speech service rejected what we sent (format, language): retrying the same input fails again."""

    code = "bad_request"
    http_status = 502


class StorageError(TranscriptionError):
    """Blob storage failed while reading input or writing results (or did not answer in time)."""

    code = "storage_error"
    transient = True
    http_status = 503
    retry_after_seconds = 10


class StorageAccessDeniedError(StorageError):
    """Storage refused the app's identity (401/403). Transient on purpose: a new role assignment takes
    minutes to reach the data plane."""

    code = "storage_access_denied"


class StorageRefusedError(TranscriptionError):
    """Storage refused the request itself (a 4xx such as ``InvalidResourceName``); not a ``StorageError``,
    so nothing treats it as an outage."""

    code = "storage_refused"
    http_status = 500


class InvalidRequestError(TranscriptionError):
    """The request itself is malformed (a body, a parameter)."""

    code = "invalid_request"
    http_status = 400


class JobNotFoundError(TranscriptionError):
    """No such job: unknown, deleted, or not a well-formed id (the same answer, so ids can't be probed)."""

    code = "not_found"
    http_status = 404


class InvalidJobQueryError(TranscriptionError):
    """A listing parameter (``status``, ``top``, page token) that cannot be used as given."""

    code = "invalid_query"
    http_status = 400


class NotAcceptableError(TranscriptionError):
    """The ``Accept`` header names no format this service writes."""

    code = "not_acceptable"
    http_status = 406


class NotReadyError(TranscriptionError):
    """The job has no transcript (yet): it is queued, running or failed."""

    code = "not_ready"
    http_status = 409


class JobStateError(TranscriptionError):
    """A status document that is not one this code wrote (hand-edited or corrupt)."""

    code = "job_state_invalid"
    http_status = 500


class JobExpiredError(TranscriptionError):
    """What an ``expired`` job records (its audio never came); never an HTTP answer itself."""

    code = "expired"


class RetriesExhaustedError(TranscriptionError):
    """A recording failed ``MAX_ATTEMPTS`` times (throttling not counted); replacing the blob starts afresh."""

    code = "retries_exhausted"
    http_status = 503


class InvalidOptionsError(TranscriptionError):
    """A recognition option breaks its rule; the message names both. Refused before any token is fetched."""

    code = "invalid_options"
    http_status = 400


class JobFinishedError(TranscriptionError):
    """A job's audio arrived after its job had ended: the outcome stands; a new job transcribes it."""

    code = "job_finished"
    http_status = 409


class NameRefusedError(TranscriptionError):
    """A recording whose results could be taken for another's (``shared.recordings.input_names``): rename it."""

    code = "name_refused"


class SignatureError(TranscriptionError):
    """A batch callback whose ``X-MicrosoftSpeechServices-Signature`` is missing or is not the HMAC of its body
    with ``SPEECH_WEBHOOK_SECRET``: refused, and nothing is done."""

    code = "invalid_signature"
    http_status = 401


class UnknownTranscriptionError(TranscriptionError):
    """A signed batch callback for a transcription this app is not waiting for (never submitted here, or
    already finished): refused, and nothing is done."""

    code = "unknown_transcription"
    http_status = 404


def print_error(error: TranscriptionError) -> None:
    """The one line every command prints on stderr for a typed error: ``error: <code>: <message>``."""
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
