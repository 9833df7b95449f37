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
from contextlib import ExitStack, suppress
from pathlib import Path

from local_stack.azurite import start_azurite
from local_stack.certs import make_certificate
from local_stack.identity import TOKEN_PATH, LocalTokenCredential
from local_stack.processes import ManagedProcess, free_port, port_open
from speech_emulator.process import start_emulator

REPO = Path(__file__).resolve().parent.parent

#: Variables of a real Azure host that would steer azure-identity elsewhere.
_FOREIGN_IDENTITY_VARS = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_SECRET",
                          "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                          "IMDS_ENDPOINT")
#: Connection-string settings that would win over the identity-based ones in the blob extension.
_SHADOWING_SETTINGS = ("AudioStorage", "AzureWebJobsStorage")


class LocalStack:
    """Azurite + speech emulator + identity endpoint, each a real process on a free loopback port.

    Keyless like production: Azurite serves HTTPS with OAuth, and the app settings in ``env`` are
    the identity-based ones the Bicep template sets (``AudioStorage__blobServiceUri`` ...), so the
    app's storage clients get their tokens from the identity endpoint. ``REQUESTS_CA_BUNDLE`` names a
    bundle of the system CAs plus the stack's self-signed certificate.
    """

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

        self.certificate = make_certificate(self.workdir / "tls")
        azurite, self.storage = start_azurite(self.workdir, self.certificate, self.workdir / "azurite.log")
        self._exit.callback(azurite.stop)
        self.processes.append(azurite.popen)
        self._secret = secret

        storage_settings = {}
        for prefix in ("AudioStorage", "AzureWebJobsStorage"):
            storage_settings.update({
                f"{prefix}__blobServiceUri": self.storage.blob,
                f"{prefix}__queueServiceUri": self.storage.queue,
                f"{prefix}__credential": "managedidentity",
            })
        self.env = {
            "SPEECH_ENDPOINT": self.speech_endpoint,
            "INPUT_CONTAINER": "audio-in",
            "OUTPUT_CONTAINER": "transcripts",
            "COMPLETION_QUEUE": "transcription-completions",
            **storage_settings,
            "REQUESTS_CA_BUNDLE": str(self.certificate.ca_bundle),
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
            keys = set(self.env) | set(_FOREIGN_IDENTITY_VARS) | set(_SHADOWING_SETTINGS)
            self._saved_env = {k: os.environ.get(k) for k in keys}
        for key in (*_FOREIGN_IDENTITY_VARS, *_SHADOWING_SETTINGS):
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

    def operator_credential(self) -> LocalTokenCredential:
        """Tokens for the operator's side (uploads, checks), minted here: not counted as the app's."""
        return LocalTokenCredential(self._secret)

    def blob_service(self):
        """A ``BlobServiceClient`` for the operator's side (uploads, checks): never the app's own client."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.storage.blob, credential=self.operator_credential(), **self._tls())

    def queue_service(self):
        """A ``QueueServiceClient`` for the operator's side, built as ``blob_service`` is."""
        from azure.storage.queue import QueueServiceClient

        return QueueServiceClient(self.storage.queue, credential=self.operator_credential(), **self._tls())

    def _tls(self) -> dict[str, object]:
        """Trust this stack's certificate whatever ``REQUESTS_CA_BUNDLE`` names for the process."""
        return {"connection_verify": str(self.certificate.ca_bundle)}

    def spoil_tokens(self, resource: str, mode: str, count: int = 1) -> None:
        """Make the identity endpoint's next ``count`` tokens for ``resource`` expired or mis-addressed."""
        body = json.dumps({"resource": resource, "mode": mode, "count": count}).encode()
        request = urllib.request.Request(f"{self.identity_url}/faults", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5):
            pass

    def create_containers(self) -> None:
        """The containers and the completion queue the app expects (in Azure, infra/ creates them)."""
        with self.blob_service() as service:
            for name in (self.env["INPUT_CONTAINER"], self.env["OUTPUT_CONTAINER"]):
                if not service.get_container_client(name).exists():
                    service.create_container(name)
        with self.queue_service() as queues:
            from azure.core.exceptions import ResourceExistsError

            with suppress(ResourceExistsError):
                queues.create_queue(self.env["COMPLETION_QUEUE"])
