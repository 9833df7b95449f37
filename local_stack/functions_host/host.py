"""``FunctionsHost``: the app run inside Microsoft's Functions runtime, in a worker process of its own, with the
host's side played here: HTTP on ``LocalHttpPort``, blob events, the timer.

    with FunctionsHost(stack, http_port=7071) as host:   # worker started, app indexed and loaded
        host.url("/api/health")

Start-up follows the host: start the worker, wait for its ``StartStream``, ``WorkerInitRequest`` (indexing
happens here), ``FunctionsMetadataRequest``, one ``FunctionLoadRequest`` per function; in placeholder mode
(a pre-warmed instance) the app arrives later by ``FunctionEnvironmentReloadRequest``. A failed status at any
step stops the start with the worker's own message.
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from local_stack.functions_host.blob_trigger import BlobEvent, BlobTrigger
from local_stack.functions_host.channel import WorkerChannel, WorkerError
from local_stack.functions_host.functions import IndexedFunction
from local_stack.functions_host.http_server import HostHttpServer
from local_stack.functions_host.invocations import Invoker
from local_stack.functions_host.rpc import protos
from local_stack.functions_host.timer import TimerTrigger
from local_stack.processes import ManagedProcess
from shared.settings import APP_SETTING_NAMES

REPO = Path(__file__).resolve().parents[2]
#: What the host tells the worker it supports (the Python worker reads these two).
HOST_CAPABILITIES = {"RpcHttpBodyOnly": "true", "TypedDataCollection": "true"}
INIT_TIMEOUT_SECONDS = 120
#: How long a worker told to terminate may take to finish before it is killed.
TERMINATE_GRACE_SECONDS = 10
#: Worker log categories shown below Warning (host.json keeps the Azure SDK's at Warning).
_QUIET_PREFIXES = ("azure.", "urllib3.")
log = logging.getLogger("functions_host")


class FunctionsHost:
    """The host stand-in; ``functions`` are the app's functions as the runtime indexed them."""

    def __init__(
        self,
        stack: object,
        *,
        http_port: int,
        settings: Mapping[str, str] | None = None,
        app_dir: Path = REPO,
        placeholder: bool = False,
        log_path: Path | None = None,
        timers: bool = True,
    ) -> None:
        """``settings`` override the stack's app settings (a second app on the same stack, a fault); ``timers``
        off leaves the timers to the admin endpoint; ``placeholder`` starts the worker as a pre-warmed instance."""
        self.stack, self.http_port, self.app_dir, self.placeholder = stack, http_port, app_dir, placeholder
        self.log_path, self.timers_on = log_path, timers
        self.settings: dict[str, str] = {**stack.env, **(settings or {}), "FUNCTIONS_WORKER_RUNTIME": "python"}
        self.host_json = json.loads((app_dir / "host.json").read_text())
        self.functions: dict[str, IndexedFunction] = {}
        self.timers: dict[str, TimerTrigger] = {}
        #: How long each start-up step took (worker_process, init, metadata_and_load): ``bench.runtime`` reads it.
        self.startup_seconds: dict[str, float] = {}
        self._placeholder_dir = tempfile.TemporaryDirectory(prefix="placeholder-") if placeholder else None
        self.worker_logs: deque[str] = deque(maxlen=5000)
        self._parts: list = []
        self._worker: ManagedProcess | None = None
        self._channel: WorkerChannel | None = None

    def __enter__(self) -> FunctionsHost:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def worker_pid(self) -> int:
        return self._worker.popen.pid

    def worker_alive(self) -> bool:
        return self._worker is not None and self._worker.popen.poll() is None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    # -- start and stop ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._channel = self._start_worker()
        self.functions = self._index()
        self.invoker = Invoker(self._channel, self.functions, self.settings, self.host_json)
        self.blob_trigger = BlobTrigger(self.stack, self.invoker, self.settings, self.host_json)
        self._parts.append(self.blob_trigger)
        timers = self.invoker.of_type("timerTrigger")
        self.timers = {f.name: TimerTrigger(f, self.invoker, self.settings) for f in timers}
        self.http = HostHttpServer(self.http_port, self)
        self._parts.append(self.http)
        self.http.start()
        self.blob_trigger.start(self.url(self.blob_trigger.webhook_path))
        for timer in self.timers.values() if self.timers_on else ():
            self._parts.append(timer)
            timer.start()

    def run_function(self, name: str, given: str) -> bool:
        """The admin endpoint's manual run, in the background: a timer, or a blob function for ``container/blob``."""
        if name in self.timers:
            threading.Thread(target=self.timers[name].run_now, name=f"admin-{name}", daemon=True).start()
            return True
        if name in self.blob_trigger.functions and "/" in given:
            container, blob = given.split("/", 1)
            self.blob_trigger.deliveries.put(BlobEvent(name, container, blob, etag=""))
            return True
        return False

    def stop(self) -> None:
        for part in reversed(self._parts):
            part.stop()
        self._parts.clear()
        if self._channel is not None:
            self._channel.send(worker_terminate=protos.WorkerTerminate())
            self._channel = None
        if self._worker is not None:
            with suppress(subprocess.TimeoutExpired):  # it ends by itself once its invocations have
                self._worker.popen.wait(TERMINATE_GRACE_SECONDS)
            self._worker.stop()
            self._worker = None
        if self._placeholder_dir is not None:
            self._placeholder_dir.cleanup()

    def _start_worker(self) -> WorkerChannel:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(INIT_TIMEOUT_SECONDS)
        port = listener.getsockname()[1]
        worker_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
        env = self._worker_env(with_app_settings=not self.placeholder)
        args = [
            sys.executable,
            "-m",
            "local_stack.functions_host.worker",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workerId",
            worker_id,
            "--requestId",
            request_id,
        ]
        self._worker = ManagedProcess("functions worker", args, env=env, cwd=REPO, log_path=self.log_path)
        started = time.perf_counter()
        with listener:
            self._worker.start(lambda: select.select([listener], [], [], 0)[0] != [], timeout=INIT_TIMEOUT_SECONDS)
            connection, _ = listener.accept()
        channel = WorkerChannel(connection, self._worker_log)
        hello = channel.first_message
        if hello is None or hello.start_stream.worker_id != worker_id:
            raise WorkerError(f"the worker did not start its stream as worker {worker_id}: {hello}")
        self.startup_seconds["worker_process"] = time.perf_counter() - started
        return channel

    def _worker_env(self, *, with_app_settings: bool) -> dict[str, str]:
        """The platform's share of the environment (this process's, less app settings), then the app settings."""
        env = {k: v for k, v in os.environ.items() if k not in APP_SETTING_NAMES and k not in self.settings}
        env["PYTHONUNBUFFERED"] = "1"
        return {**env, **self.settings} if with_app_settings else env

    def _index(self) -> dict[str, IndexedFunction]:
        channel, app_dir = self._channel, str(self.app_dir)
        init_dir = self._placeholder_dir.name if self.placeholder else app_dir
        started = time.perf_counter()
        channel.call(
            "worker_init_request",
            protos.WorkerInitRequest(
                host_version="local-stand-in",
                capabilities=HOST_CAPABILITIES,
                worker_directory=str(REPO),
                function_app_directory=init_dir,
            ),
            INIT_TIMEOUT_SECONDS,
        )
        self.startup_seconds["init"] = time.perf_counter() - started
        if self.placeholder:  # specialization: the app and its settings arrive now
            channel.call(
                "function_environment_reload_request",
                protos.FunctionEnvironmentReloadRequest(
                    environment_variables=self._worker_env(with_app_settings=True), function_app_directory=app_dir
                ),
                INIT_TIMEOUT_SECONDS,
            )
        started = time.perf_counter()
        metadata = channel.call(
            "functions_metadata_request",
            protos.FunctionsMetadataRequest(function_app_directory=app_dir),
            INIT_TIMEOUT_SECONDS,
        )
        functions = {}
        for entry in metadata.function_metadata_results:
            function = IndexedFunction.from_metadata(entry)
            channel.call(
                "function_load_request",
                protos.FunctionLoadRequest(function_id=function.function_id, metadata=entry),
                INIT_TIMEOUT_SECONDS,
            )
            functions[function.name] = function
        if not functions:
            raise WorkerError(f"the runtime indexed no function in {app_dir}")
        self.startup_seconds["metadata_and_load"] = time.perf_counter() - started
        return functions

    def _worker_log(self, record: object) -> None:
        level = protos.RpcLog.Level.Name(record.level)
        if record.category.startswith(_QUIET_PREFIXES) and record.level < protos.RpcLog.Warning:
            return
        line = f"[{level}] {record.category}: {record.message}"
        self.worker_logs.append(line)
        log.info("%s", line)
