"""The error taxonomy: decided once here, mapped once to HTTP status codes and to retry behaviour.

A *permanent* error will fail again on retry with the same input (bad audio, bad settings, refused
credentials): the blob path records it and does not retry. A *transient* error may pass on retry
(throttling, a dropped connection, an identity endpoint that did not answer in time): the blob path
records it and re-raises it so the Functions host delivers the event again, until the host's last
delivery; from then on the sweep retries it (``shared.recordings.door``, ``shared.recordings.sweep``).
"""

from __future__ import annotations

import re
import sys

#: What must not reach an HTTP client from an internal message: a URL (its host names an internal
#: endpoint, its query can carry a fault switch, a SAS or a connection id), a host and port or an IP
#: address (urllib3 writes ``host='10.0.0.4', port=443``), and 32-hex-digit ids (the SDK's connection ids).
_URL = re.compile(r"\b(?:https?|wss?)://[^\s'\"<>]+")
_POOL = re.compile(r"host='[^']*', port=\d+")
_QUERY = re.compile(r"\?[\w.%-]+=[^\s'\")]*")  # a path's query, as in "with url: /c/b.wav?comp=block"
_HOST_PORT = re.compile(r"\b(?:localhost|[\w-]+(?:\.[\w-]+)+):\d{1,5}\b")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_HEX_ID = re.compile(r"\b[0-9a-fA-F]{32}\b")


def public_message(message: str) -> str:
    """``message`` as an HTTP client may see it: endpoints, addresses and connection ids replaced.

    A message is written for the operator and may quote a library's exception; whatever it quotes,
    the client is told what failed, not where. The full text stays in the logs and ``.error.json``.
    """
    for pattern, stand_in in ((_URL, "<endpoint>"), (_POOL, "<endpoint>"), (_HOST_PORT, "<endpoint>"),
                              (_IP, "<address>"), (_QUERY, ""), (_HEX_ID, "<id>")):
        message = pattern.sub(stand_in, message)
    return message


class TranscriptionError(Exception):
    """Base class. ``code`` is a stable machine-readable name; ``details`` carries what the SDK said.

    ``retry_after_seconds``: for a transient error answered 503, how long an HTTP client should wait
    (``Retry-After``).
    """

    code = "transcription_failed"
    transient = False
    http_status = 500
    retry_after_seconds: int | None = None

    def __init__(self, message: str, *, details: str = "", sdk_error_code: str = "",
                 refused_at_start: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.sdk_error_code = sdk_error_code
        #: The Speech service turned the session away before it began (429 past the quota, a refused
        #: or reset connection): nothing was transcribed, so the same invocation may simply try again.
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
        """What an HTTP client is told, and a job's status document keeps: no ``details``, and the message
        through ``public_message``.

        The SDK's details name the internal endpoint, its query and the connection; they stay in the logs.
        """
        body = {"code": self.code, "message": public_message(self.message)}
        if self.sdk_error_code:
            body["sdk_error_code"] = self.sdk_error_code
        return body


class ConfigurationError(TranscriptionError):
    """A missing or malformed app setting; names the setting."""

    code = "configuration_error"
    http_status = 500


class InternalError(TranscriptionError):
    """A failure no class here describes (a bug): answered 500 in the one JSON shape, logged with its traceback.

    Permanent: nothing says a retry would go differently, and a loop of retries would hide the bug.
    """

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
    """``SPEECH_ENDPOINT`` takes no connection at all (a wrong port, scheme or host name, or the service down):
    named in the message, after a short bounded retry (``shared.pipeline``).

    Transient: an outage looks the same from here, and a recording must not be failed for good by one; the
    host's deliveries and the sweep retry it, each try short, until ``MAX_ATTEMPTS``.
    """

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
    """Storage refused the app's identity (401/403): a missing role, or a token it does not accept.

    Transient on purpose: right after a deploy the role assignment can take minutes to reach the
    data plane, and a retry is what fixes it then. If it persists, the message says what was refused;
    storage's own reason is in ``details``.
    """

    code = "storage_access_denied"


class StorageRefusedError(TranscriptionError):
    """Storage refused the request itself (a 4xx such as 400 ``InvalidResourceName``): permanent.

    The same request is refused the same way on every retry; it is a setting naming something storage
    cannot accept, or a bug. Not a ``StorageError`` subclass, so nothing treats it as an outage.
    """

    code = "storage_refused"
    http_status = 500


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


class JobExpiredError(TranscriptionError):
    """A job's audio never arrived within ``JOB_QUEUED_TTL_MINUTES``: the error an ``expired`` job records.

    Never an HTTP answer itself (the job is found, and says it expired); it exists so the job's error
    code comes from this taxonomy like every other.
    """

    code = "expired"


class RetriesExhaustedError(TranscriptionError):
    """A recording failed transiently ``MAX_ATTEMPTS`` times (throttling not counted): given up.

    Permanent from then on, so nothing retries it in a loop for ever; replacing the blob starts afresh.
    """

    code = "retries_exhausted"
    http_status = 503


class InvalidOptionsError(TranscriptionError):
    """A recognition option breaks its rule (``shared.options``): the message names the option and the rule.

    Permanent: the same options fail the same way. Refused before any token is fetched.
    """

    code = "invalid_options"
    http_status = 400


class JobFinishedError(TranscriptionError):
    """A job's audio arrived after its job had ended (expired, or uploaded again after it finished).

    Permanent: the job's outcome stands, and a new job is the way to transcribe the audio.
    """

    code = "job_finished"
    http_status = 409


class NameRefusedError(TranscriptionError):
    """A recording whose results could be mistaken for another's, for its name (``shared.recordings.input_names``).

    Permanent: the same name is refused again; renaming the blob is the way. Never an HTTP answer (no route
    takes a blob name).
    """

    code = "name_refused"


def print_error(error: TranscriptionError) -> None:
    """The one line every command prints on stderr for a typed error: ``error: <code>: <message>``."""
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
