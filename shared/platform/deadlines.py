"""Every network wait bounded by a wall-clock deadline, not by a per-read timeout.

A socket timeout bounds each read, not the whole answer: an endpoint that sends a byte a second never
trips it, and retries multiply it (an identity endpoint trickling its answer held a token fetch with a
10 s timeout for 80 s; storage's default retries waited 83 s before reporting an outage). Three pieces:

- ``WatchedAdapter``: a ``requests`` adapter for the identity endpoint. Each request gets the time left
  before the fetch's deadline as its timeouts, its body is read piece by piece with each socket read
  given only the time then left, and it remembers what happened (the last HTTP status, or the connection
  failure), so the caller classifies a failure by what happened, not by words in a message.
- ``DeadlineTransport``: the transport azure-identity's retry policy sleeps through. The policy honours
  ``Retry-After`` on any 4xx/5xx with ``time.sleep``, outside every socket timeout (a 429 with
  ``Retry-After: 600`` slept 600 s); here a sleep that would pass the fetch's deadline is not slept.
  Together: a token fetch, retries and their waits included, ends within ``TOKEN_TIMEOUT_SECONDS``.
- ``storage_pipeline_options``: keyword arguments for azure-storage clients. What they bound, exactly:
  each storage *operation* (one SDK call) gets one deadline across all its attempts; the retry policy
  stops once it has passed, its backoff is cut to the time left, and each attempt's connect timeout and
  read timeout are cut to the time left when the attempt starts. That bounds connecting, a silent
  service and waiting for an answer's headers. It does not bound reading a body whose bytes keep
  coming: the read timeout applies to each socket read, and a download's body is read after the
  pipeline has returned (``StorageStreamDownloader``), so a storage service trickling a body can hold
  a download longer. Downloads here are small (``shared.platform.blob_reader`` reads one window per operation)
  and storage is not an endpoint that trickles, so that is the one wait these deadlines leave open.
"""

from __future__ import annotations

import math
import time
from typing import Any

import requests
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ExponentialRetry

#: Pieces a body is read in.
_READ_CHUNK_BYTES = 64 * 1024


class DeadlineExceeded(requests.exceptions.Timeout):
    """The fetch's deadline passed (raised inside the transport, so the SDK sees an ordinary timeout)."""


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An HTTP adapter whose requests all end by ``deadline`` (``time.monotonic()``; set it per fetch)."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.deadline = math.inf
        self.last_status: int | None = None
        self.last_failure: BaseException | None = None

    def arm(self, seconds: float) -> None:
        """Start a fetch: it must end within ``seconds``; forget what earlier fetches saw."""
        self.deadline = time.monotonic() + seconds
        self.last_status = None
        self.last_failure = None

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             **kwargs: Any) -> requests.Response:
        left = self._left()
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        bounded = (min(connect or left, left), min(read or left, left))
        try:
            response = super().send(request, stream=True, timeout=bounded, **kwargs)
        except requests.RequestException as exc:
            self.last_failure = exc
            raise
        # This attempt was answered: an earlier attempt's connection failure no longer describes the fetch
        # (a connect blip, then a 403, is a refusal, not an outage).
        self.last_status, self.last_failure = response.status_code, None
        if not stream:
            response._content = self._read_body(response)
        return response

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.last_failure = DeadlineExceeded("the deadline passed")
            raise self.last_failure
        return left

    def _read_body(self, response: requests.Response) -> bytes:
        chunks = []
        try:
            while True:
                _set_read_timeout(response, self._left())
                chunk = response.raw.read1(_READ_CHUNK_BYTES, decode_content=True)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        except Exception as exc:
            self.last_failure = exc
            response.close()
            raise requests.exceptions.ReadTimeout(f"reading the answer failed: {exc}") from exc


def _set_read_timeout(response: requests.Response, seconds: float) -> None:
    """Bound the next socket read of ``response``'s body (urllib3 keeps the socket on its connection)."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


class RetryPastDeadline(DeadlineExceeded):
    """A retry's wait (``Retry-After``, or backoff) would end after the fetch's deadline: not waited for.

    Raised out of the retry policy's sleep, so the fetch ends now, classified by the answer that asked
    for the wait (``WatchedAdapter.last_status``).
    """


class DeadlineTransport(RequestsTransport):
    """A ``RequestsTransport`` over a ``WatchedAdapter`` session whose retry waits respect its deadline.

    azure-core's ``RetryPolicy`` sleeps through ``transport.sleep``: for ``Retry-After`` (on any answer of
    400 or more) and for its backoff. A wait that ends before the deadline is slept; one that would not is
    refused at once with ``RetryPastDeadline``, since the retry after it could not happen in time.
    """

    def __init__(self, session: requests.Session, adapter: WatchedAdapter) -> None:
        super().__init__(session=session, session_owner=True)
        self._adapter = adapter

    def sleep(self, duration: float) -> None:
        left = self._adapter.deadline - time.monotonic()
        if duration >= left:
            raise RetryPastDeadline(f"a retry wait of {duration:g} s would pass the deadline "
                                    f"({max(left, 0):.1f} s left)")
        time.sleep(max(0.0, duration))


def watched_session() -> tuple[requests.Session, WatchedAdapter]:
    """A session whose every request goes through one ``WatchedAdapter``."""
    session, adapter = requests.Session(), WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter


class _DeadlineRetry(ExponentialRetry):
    """Storage's exponential retry, stopped once the operation's deadline would be passed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(initial_backoff=0.5, increment_base=2, retry_total=3, random_jitter_range=0.5)
        self.seconds = seconds

    def configure_retries(self, request: Any) -> dict[str, Any]:
        settings = super().configure_retries(request)
        settings["deadline"] = request.context["deadline"] = time.monotonic() + self.seconds
        return settings

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return max(0.0, min(super().get_backoff_time(settings), settings["deadline"] - time.monotonic()))

    def increment(self, settings: dict[str, Any], request: Any, response: Any = None, error: Any = None) -> bool:
        if time.monotonic() >= settings["deadline"]:
            return False
        return super().increment(settings, request, response, error)


class _AttemptTimeouts(SansIOHTTPPolicy):
    """Cuts each attempt's connect and read timeouts to the time its operation has left."""

    def __init__(self, connect: float, read: float) -> None:
        self.connect, self.read = connect, read

    def on_request(self, request: Any) -> None:
        deadline = request.context.get("deadline")
        if deadline is None:
            return
        left = max(0.001, deadline - time.monotonic())
        request.context.options["connection_timeout"] = min(self.connect, left)
        request.context.options["read_timeout"] = min(self.read, left)


def storage_pipeline_options(seconds: float) -> dict[str, Any]:
    """Client keyword arguments: each storage operation, retries included, ends within ``seconds``."""
    connect, read = min(5.0, seconds), seconds
    return {"retry_policy": _DeadlineRetry(seconds), "connection_timeout": connect, "read_timeout": read,
            "_additional_pipeline_policies": [_AttemptTimeouts(connect, read)]}
