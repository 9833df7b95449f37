"""What the Speech service says during a session: SDK events turned into segments, progress and typed errors.

``EventCollector`` holds no reference to the transcriber (a handler closing over it would keep its native
handles alive) and copies what it needs out of each result at once.
"""

from __future__ import annotations

import re
import threading
import time

import azure.cognitiveservices.speech as speechsdk

from shared.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ServiceError,
    ThrottledError,
    TranscriptionError,
)
from shared.output.transcript import Segment
from shared.settings import SPEECH_ENDPOINT
from shared.speech.segments import TICKS_PER_SECOND, SegmentFields, segment_from_result

_CANCELLATION_ERRORS: dict[str, type[TranscriptionError]] = {
    "AuthenticationFailure": AuthenticationError,
    "Forbidden": AuthenticationError,
    "TooManyRequests": ThrottledError,
    "BadRequest": BadRequestError,
    "ConnectionFailure": ServiceError,
    "ServiceTimeout": ServiceError,
    "ServiceError": ServiceError,
    "ServiceUnavailable": ServiceError,
    "RuntimeError": ServiceError,
}


#: What the SDK says when the websocket upgrade got an HTTP 404: no Speech service at that path.
_NOT_FOUND = re.compile(r"upgrade failed.*\b404\b", re.IGNORECASE | re.DOTALL)


#: Cancellations that, before the service has said anything, mean "not now" rather than "not this".
_REFUSALS = frozenset({"TooManyRequests", "ConnectionFailure", "ServiceUnavailable"})


def error_for_cancellation(code: str, details: str, *, before_start: bool = False) -> TranscriptionError:
    """The SDK's cancellation as our typed error; a 404 at the websocket upgrade means the endpoint names no
    Speech service, a ``ConfigurationError`` every retry would meet again."""
    if _NOT_FOUND.search(details or ""):
        return ConfigurationError(
            f"{SPEECH_ENDPOINT} names no Speech service: the endpoint answered HTTP 404 (a wrong path or host?)",
            details=details,
            sdk_error_code=code,
        )
    kind = _CANCELLATION_ERRORS.get(code, ServiceError)
    refused = before_start and code in _REFUSALS
    what = "refused the session" if refused else "cancelled the session"
    return kind(f"the Speech service {what}: {code}", details=details, sdk_error_code=code, refused_at_start=refused)


class EventCollector:
    """Receives SDK events; ``fields`` says what each segment carries beyond text and times."""

    def __init__(self, fields: SegmentFields | None = None) -> None:
        self.fields = fields or SegmentFields()
        self.segments: list[Segment] = []
        self.error: TranscriptionError | None = None
        self.done = threading.Event()
        self.last_event = time.monotonic()
        self.recognised_until = 0.0
        #: The end of the latest result, final or partial: what the service has answered for so far.
        self.heard_until = 0.0
        #: When the connection last closed, while it stays closed (``None``: connected, or never was).
        self.disconnected_since: float | None = None
        #: Whether the websocket was ever open: a cancellation before it was is a refused start.
        self.ever_connected = False

    def on_transcribed(self, evt: speechsdk.transcription.ConversationTranscriptionEventArgs) -> None:
        self.last_event = time.monotonic()
        result = evt.result
        if result.reason != speechsdk.ResultReason.RecognizedSpeech or not result.text:
            return
        end = (result.offset + result.duration) / TICKS_PER_SECOND
        self.recognised_until = max(self.recognised_until, end)
        self.heard_until = max(self.heard_until, end)
        self.segments.append(segment_from_result(result, self.fields))

    def on_activity(self, evt: speechsdk.SessionEventArgs) -> None:
        self.last_event = time.monotonic()

    def on_transcribing(self, evt: speechsdk.transcription.ConversationTranscriptionEventArgs) -> None:
        self.last_event = time.monotonic()
        result = evt.result
        self.heard_until = max(self.heard_until, (result.offset + result.duration) / TICKS_PER_SECOND)

    def on_canceled(self, evt: speechsdk.transcription.ConversationTranscriptionCanceledEventArgs) -> None:
        self.last_event = time.monotonic()
        details = evt.cancellation_details
        # EndOfStream also arrives here at the end of file input: normal, not an error.
        if details.reason == speechsdk.CancellationReason.Error:
            if self.error is None:
                self.error = error_for_cancellation(
                    details.code.name, details.error_details or "", before_start=not self.ever_connected
                )
            self.done.set()

    def on_stopped(self, evt: speechsdk.SessionEventArgs) -> None:
        self.last_event = time.monotonic()
        self.done.set()

    def on_connected(self, evt: speechsdk.ConnectionEventArgs) -> None:
        self.disconnected_since = None
        self.ever_connected = True

    def on_disconnected(self, evt: speechsdk.ConnectionEventArgs) -> None:
        """The websocket closed. The SDK reconnects at once when it has more to say; when it does not, a
        service that closed mid-stream (even with a normal close, 1000) would leave it waiting for ever."""
        self.disconnected_since = time.monotonic()
