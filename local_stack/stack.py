"""Start the whole local stack, hand out the app settings that point at it, end it all on exit.

    with LocalStack() as stack:
        stack.apply_env()        # os.environ now points the app at Azurite, the emulator, the identity endpoint
        ...
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from local_stack.azurite import start_azurite
from local_stack.identity import TOKEN_PATH
from local_stack.processes import ManagedProcess, free_port, port_open
from speech_emulator.process import start_emulator

REPO = Path(__file__).resolve().parent.parent

#: Variables of a real Azure host that would steer azure-identity elsewhere.
_FOREIGN_IDENTITY_VARS = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_SECRET",
                          "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                          "IMDS_ENDPOINT")


class LocalStack:
    """Azurite + speech emulator + identity endpoint, each a real process on a free loopback port."""

    def __init__(self, *, emulator_args: tuple[str, ...] = ("--require-token",), workdir: Path | None = None) -> None:
        self.emulator_args = emulator_args
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="stt-stack-")
        self.workdir = workdir or Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen] = []
        self._exit = ExitStack()
        self.env: dict[str, str] = {}
        self._saved_env: dict[str, str | None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        secret, header = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        base_env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_IDENTITY_VARS}
        base_env.update({"LOCAL_IDENTITY_SECRET": secret, "IDENTITY_HEADER": header, "HF_HUB_OFFLINE": "1",
                         "PYTHONUNBUFFERED": "1"})

        identity_port = free_port()
        identity = ManagedProcess(
            "identity endpoint", [sys.executable, "-m", "local_stack.identity", "--port", str(identity_port)],
            env=base_env, cwd=REPO, log_path=self.workdir / "identity.log",
        )
        self._exit.callback(identity.stop)
        identity.start(lambda: port_open(identity_port), timeout=30)
        self.processes.append(identity.popen)
        self.identity_url = f"http://127.0.0.1:{identity_port}"

        self.speech_endpoint, self.emulator = self._exit.enter_context(start_emulator(
            extra_args=self.emulator_args, env=base_env, log_path=self.workdir / "speech-emulator.log",
            startup_timeout=120,
        ))
        self.processes.append(self.emulator)

        azurite, self.storage_connection_string = start_azurite(self.workdir, self.workdir / "azurite.log")
        self._exit.callback(azurite.stop)
        self.processes.append(azurite.popen)

        self.env = {
            "SPEECH_ENDPOINT": self.speech_endpoint,
            "INPUT_CONTAINER": "audio-in",
            "OUTPUT_CONTAINER": "transcripts",
            "AudioStorage": self.storage_connection_string,
            "AzureWebJobsStorage": self.storage_connection_string,
            "IDENTITY_ENDPOINT": f"{self.identity_url}{TOKEN_PATH}",
            "IDENTITY_HEADER": header,
            "LOCAL_IDENTITY_SECRET": secret,
        }

    def stop(self) -> None:
        self.restore_env()
        self._exit.close()
        self.processes.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- using it ---------------------------------------------------------------------------------
    def apply_env(self) -> None:
        """Point this process's app settings at the stack (undone by ``restore_env`` / ``stop``)."""
        if self._saved_env is None:
            keys = set(self.env) | set(_FOREIGN_IDENTITY_VARS)
            self._saved_env = {k: os.environ.get(k) for k in keys}
        for key in _FOREIGN_IDENTITY_VARS:
            os.environ.pop(key, None)
        os.environ.update(self.env)

    def restore_env(self) -> None:
        if self._saved_env is None:
            return
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = None

    def token_requests(self) -> dict[str, int]:
        """Token requests the identity endpoint has answered so far, per resource."""
        with urllib.request.urlopen(f"{self.identity_url}/stats", timeout=5) as response:
            return json.load(response)["requests"]

    def blob_service(self):
        """A ``BlobServiceClient`` for the operator's side (uploads, checks): never the app's own client."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.storage_connection_string)

    def create_containers(self) -> None:
        with self.blob_service() as service:
            for name in (self.env["INPUT_CONTAINER"], self.env["OUTPUT_CONTAINER"]):
                if not service.get_container_client(name).exists():
                    service.create_container(name)
