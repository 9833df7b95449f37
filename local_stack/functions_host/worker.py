"""The language worker process: Microsoft's Functions runtime (``azure_functions_runtime``), driven as the host's
proxy worker drives it.

Started by the host stand-in as the host starts its worker (``--host --port --workerId --requestId``), it connects
back, announces itself (``StartStream``) and then hands each request to the runtime's verb of the same name:
``protos`` and ``host`` in the properties, the runtime's thread pool started first and stopped last,
invocations answered concurrently. The runtime never raises: failures come back as ``StatusResult``s, which
the host checks. Log records go back to the host as ``RpcLog`` messages, as the proxy forwards them.

    python -m local_stack.functions_host.worker --host 127.0.0.1 --port N --workerId W --requestId R
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
from dataclasses import dataclass, field

import azure_functions_runtime as runtime

from local_stack.functions_host.rpc import HEADER_SIZE, body_size, frame, protos

#: Request kind → (the runtime's verb, the response kind).
VERBS = {
    "worker_init_request": (runtime.worker_init_request, "worker_init_response"),
    "functions_metadata_request": (runtime.functions_metadata_request, "function_metadata_response"),
    "function_load_request": (runtime.function_load_request, "function_load_response"),
    "invocation_request": (runtime.invocation_request, "invocation_response"),
    "function_environment_reload_request": (
        runtime.function_environment_reload_request,
        "function_environment_reload_response",
    ),
}
_LEVELS = {
    logging.DEBUG: "Debug",
    logging.INFO: "Information",
    logging.WARNING: "Warning",
    logging.ERROR: "Error",
    logging.CRITICAL: "Critical",
}


@dataclass
class Request:
    """What every verb of the runtime takes: ``.name``, ``.request`` (the ``StreamingMessage``), ``.properties``."""

    name: str
    request: object
    properties: dict = field(default_factory=dict)


class Worker:
    """One connection to the host: requests in, the runtime's answers out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, request_id: str):
        self.reader, self.writer, self.host, self.request_id = reader, writer, host, request_id
        self.loop = asyncio.get_running_loop()
        self.tasks: set[asyncio.Task] = set()

    def send(self, **content: object) -> None:
        self.writer.write(frame(protos.StreamingMessage(request_id=self.request_id, **content)))

    async def run(self, worker_id: str) -> None:
        self.send(start_stream=protos.StartStream(worker_id=worker_id))
        while (message := await self.next_message()) is not None:
            kind = message.WhichOneof("content")
            if kind == "worker_terminate":
                break
            if kind == "invocation_request":  # invocations overlap; everything else is answered in order
                task = asyncio.create_task(self.answer(kind, message))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            else:
                await self.answer(kind, message)
        if self.tasks:
            await asyncio.wait(self.tasks)

    async def next_message(self) -> object | None:
        try:
            header = await self.reader.readexactly(HEADER_SIZE)
            body = await self.reader.readexactly(body_size(header))
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return protos.StreamingMessage.FromString(body)

    async def answer(self, kind: str, message: object) -> None:
        verb, response_kind = VERBS[kind]
        if kind in ("worker_init_request", "function_environment_reload_request"):
            _enter_app_folder(getattr(message, kind).function_app_directory)
        response = await verb(Request(kind, message, {"protos": protos, "host": self.host}))
        self.send(**{response_kind: response})
        await self.writer.drain()

    def forward_log(self, record: logging.LogRecord) -> None:
        """A log record, as the ``RpcLog`` the proxy would send (from any thread)."""
        log = protos.RpcLog(
            invocation_id=runtime.invocation_id_cv.get() or "",
            category=record.name,
            level=_LEVELS.get(record.levelno, "Information"),
            message=_formatted(record),
        )
        self.loop.call_soon_threadsafe(functools.partial(self.send, rpc_log=log))


class _ForwardingHandler(logging.Handler):
    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.worker.forward_log(record)
        except RuntimeError:  # the loop is closed: the worker is going away
            pass
        except Exception:  # noqa: BLE001 - a log that cannot be sent must never fail the app
            self.handleError(record)


def _formatted(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


def _enter_app_folder(directory: str) -> None:
    """What the driver must do before indexing: the app folder first on ``sys.path``, and the working directory."""
    if directory and os.path.isdir(directory):
        if directory not in sys.path:
            sys.path.insert(0, directory)
        os.chdir(directory)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.functions_host.worker")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workerId", required=True)
    parser.add_argument("--requestId", required=True)
    args = parser.parse_args(argv)
    reader, writer = await asyncio.open_connection(args.host, args.port)
    worker = Worker(reader, writer, args.host, args.requestId)
    root = logging.getLogger()
    root.addHandler(_ForwardingHandler(worker))
    root.setLevel(logging.INFO)
    runtime.start_threadpool_executor()
    try:
        await worker.run(args.workerId)
    finally:
        runtime.stop_threadpool_executor()
        writer.close()


if __name__ == "__main__":
    asyncio.run(main())
