"""The host's end of the worker's connection: requests out, each response matched to its request, every status
checked.

Responses are matched as the host matches them: an invocation's by its ``invocation_id``, a load's by its
``function_id``, the rest by kind (one at a time). ``RpcLog`` messages go to ``on_log``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future

from local_stack.functions_host.rpc import frame, protos, receive

#: Request kind → the response kind that answers it, and the field that matches the two.
RESPONSES = {
    "worker_init_request": ("worker_init_response", None),
    "functions_metadata_request": ("function_metadata_response", None),
    "function_load_request": ("function_load_response", "function_id"),
    "invocation_request": ("invocation_response", "invocation_id"),
    "function_environment_reload_request": ("function_environment_reload_response", None),
}


class WorkerError(RuntimeError):
    """The worker answered with a failed ``StatusResult`` (its message and the worker's stack trace), or went away."""


class WorkerChannel:
    """Send requests on a connected socket and wait for their responses, from any number of threads."""

    def __init__(self, sock: socket.socket, on_log: Callable[[object], None]) -> None:
        self.sock, self.on_log = sock, on_log
        self._pending: dict[tuple[str, str], Future] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.first_message: object | None = receive(sock)  # the worker's StartStream
        self._reader = threading.Thread(target=self._read, name="worker-channel", daemon=True)
        self._reader.start()

    def call(self, kind: str, request: object, timeout: float | None) -> object:
        """Send ``request`` (a ``kind`` message) and wait for its response; ``WorkerError`` unless it succeeded."""
        response_kind, key_field = RESPONSES[kind]
        key = (response_kind, getattr(request, key_field) if key_field else "")
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise WorkerError("the worker's connection is closed")
            self._pending[key] = future
            self.sock.sendall(frame(protos.StreamingMessage(**{kind: request})))
        response = future.result(timeout)
        check(response.result, f"{kind} {key[1]}".strip())
        return response

    def send(self, **content: object) -> None:
        """A message that gets no answer (``worker_terminate``)."""
        with self._lock:
            if not self._closed:
                self.sock.sendall(frame(protos.StreamingMessage(**content)))

    def _read(self) -> None:
        while (message := receive(self.sock)) is not None:
            kind = message.WhichOneof("content")
            if kind == "rpc_log":
                self.on_log(message.rpc_log)
                continue
            content = getattr(message, kind)
            key_field = next((field for response, field in RESPONSES.values() if response == kind), None)
            key = (kind, getattr(content, key_field) if key_field else "")
            with self._lock:
                future = self._pending.pop(key, None)
            if future is not None:
                future.set_result(content)
        self._close_pending()

    def _close_pending(self) -> None:
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(WorkerError("the worker went away before it answered"))


def check(result: object, what: str) -> None:
    """Raise ``WorkerError`` unless ``result`` (a ``StatusResult``) is a success."""
    if result.status != protos.StatusResult.Success:
        exception = result.exception
        raise WorkerError(f"{what} failed: {exception.message}\n{exception.stack_trace}".rstrip())
