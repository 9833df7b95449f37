"""Every network wait bounded by a wall-clock deadline, not a per-read timeout, which an endpoint trickling
its answer never trips and retries multiply (``docs/recovery.md``, "Bounds").

- ``WatchedAdapter`` and ``DeadlineTransport``: a token fetch, its retries and their ``Retry-After`` waits
  included, ends within ``TOKEN_TIMEOUT_SECONDS``; the adapter remembers what the last attempt met.
- ``storage_pipeline_options``: each storage operation, retries included, ends within its deadline; only a
  body that keeps trickling in can outlast it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import requests
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ExponentialRetry

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

    def send(
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
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
    """A retry's wait would end after the deadline: the fetch ends now, classified by the answer that asked
    for the wait."""


class DeadlineTransport(RequestsTransport):
    """A ``RequestsTransport`` whose retry waits respect the deadline: azure-core's ``RetryPolicy`` sleeps
    through ``transport.sleep`` for ``Retry-After`` (any answer of 400 or more), outside every socket timeout."""

    def __init__(self, session: requests.Session, adapter: WatchedAdapter) -> None:
        super().__init__(session=session, session_owner=True)
        self._adapter = adapter

    def sleep(self, duration: float) -> None:
        left = self._adapter.deadline - time.monotonic()
        if duration >= left:
            raise RetryPastDeadline(
                f"a retry wait of {duration:g} s would pass the deadline ({max(left, 0):.1f} s left)"
            )
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
    return {
        "retry_policy": _DeadlineRetry(seconds),
        "connection_timeout": connect,
        "read_timeout": read,
        "_additional_pipeline_policies": [_AttemptTimeouts(connect, read)],
    }
