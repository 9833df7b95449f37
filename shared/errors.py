"""The error taxonomy: decided once here, mapped once to HTTP status codes and to retry behaviour.

A *permanent* error will fail again on retry with the same input (bad audio, bad settings, refused
credentials): the blob path records it and does not retry. A *transient* error may pass on retry
(throttling, a dropped connection, an identity endpoint that did not answer in time): the blob path
re-raises it so the Functions host retries the event.
"""

from __future__ import annotations


class TranscriptionError(Exception):
    """Base class. ``code`` is a stable machine-readable name; ``details`` carries what the SDK said."""

    code = "transcription_failed"
    transient = False
    http_status = 500

    def __init__(self, message: str, *, details: str = "", sdk_error_code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.sdk_error_code = sdk_error_code

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form used by ``.error.json`` and HTTP error bodies (never holds secrets)."""
        body = {"code": self.code, "message": self.message}
        if self.sdk_error_code:
            body["sdk_error_code"] = self.sdk_error_code
        if self.details:
            body["details"] = self.details
        return body


class ConfigurationError(TranscriptionError):
    """A missing or malformed app setting; names the setting."""

    code = "configuration_error"
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


class ThrottledError(TranscriptionError):
    """The Speech service said too many requests; retry later."""

    code = "throttled"
    transient = True
    http_status = 503


class ServiceError(TranscriptionError):
    """The Speech service failed or the connection dropped; retry may pass."""

    code = "service_error"
    transient = True
    http_status = 502


class SpeechTimeoutError(ServiceError):
    """The session did not finish before its deadline (a stalled service or connection)."""

    code = "speech_timeout"


class BadRequestError(TranscriptionError):
    """The Speech service rejected what we sent (format, language): retrying the same input fails again."""

    code = "bad_request"
    http_status = 502


class StorageError(TranscriptionError):
    """Blob storage failed while reading input or writing results."""

    code = "storage_error"
    transient = True
    http_status = 502


class StorageAccessDeniedError(StorageError):
    """Storage refused the app's identity (401/403): a missing role, or a token it does not accept.

    Transient on purpose: right after a deploy the role assignment can take minutes to reach the
    data plane, and a retry is what fixes it then. If it persists, the message names the account.
    """

    code = "storage_access_denied"


# -- the jobs API ----------------------------------------------------------------------------------
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
