"""Start the whole local stack, hand out the app settings that point at it, end it all on exit.

with ready_stack() as stack:    # containers made; os.environ points the app at the stack
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from local_stack.azurite import start_azurite
from local_stack.certs import make_certificate
from local_stack.identity import TOKEN_PATH, LocalTokenCredential
from local_stack.processes import ManagedProcess, free_port, port_open
from shared.settings import (
    COMPLETION_QUEUE,
    HOST_STORAGE_CONNECTION,
    INPUT_CONTAINER,
    OUTPUT_CONTAINER,
    SPEECH_ENDPOINT,
    SPEECH_WEBHOOK_SECRET,
    STORAGE_CONNECTION,
    SWEEP_SCHEDULE,
    Settings,
    identity_connection,
)
from speech_emulator.process import start_emulator

REPO = Path(__file__).resolve().parent.parent
#: The Speech service's web hooks API (``scripts/post-deploy.sh`` calls the same).
WEBHOOKS_PATH, WEBHOOKS_API = "/speechtotext/webhooks", "2025-10-15"

#: Variables of a real Azure host that would steer azure-identity elsewhere.
_FOREIGN_IDENTITY_VARS = (
    "IDENTITY_SERVER_THUMBPRINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "IMDS_ENDPOINT",
)
#: The completion queue's name, as ``infra/`` names it.
COMPLETION_QUEUE_NAME = "transcription-completions"
#: Connection-string settings that would win over the identity-based ones in the blob extension.
_SHADOWING_SETTINGS = (STORAGE_CONNECTION, HOST_STORAGE_CONNECTION)


class LocalStack:
    """Azurite + speech emulator + identity endpoint, each a real process on a free loopback port.

    Keyless like production: Azurite serves HTTPS with OAuth, and the app settings in ``env`` are
    the identity-based ones the Bicep template sets (``AudioStorage__blobServiceUri`` ...), so the
    app's storage clients get their tokens from the identity endpoint. ``REQUESTS_CA_BUNDLE`` names a
    bundle of the system CAs plus the stack's self-signed certificate.
    """

    def __init__(
        self,
        *,
        emulator_args: tuple[str, ...] = ("--require-token",),
        workdir: Path | None = None,
        readable_containers: tuple[str, ...] = (Settings.input_container,),
    ) -> None:
        """``readable_containers``: what the emulator's batch may read (``--batch-readable``), by name."""
        self.emulator_args, self.readable_containers = emulator_args, readable_containers
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
        base_env.update(
            {"LOCAL_IDENTITY_SECRET": secret, "IDENTITY_HEADER": header, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        )
        self._secret = secret
        self._start_identity(base_env)
        self.certificate = make_certificate(self.workdir / "tls")
        azurite, self.storage = start_azurite(self.workdir, self.certificate, self.workdir / "azurite.log")
        self._exit.callback(azurite.stop)
        self.processes.append(azurite.popen)
        self._start_emulator(base_env)
        self.env = self._app_settings(header)

    def _start_identity(self, base_env: dict[str, str]) -> None:
        identity_port = free_port()
        identity = ManagedProcess(
            "identity endpoint",
            [sys.executable, "-m", "local_stack.identity", "--port", str(identity_port)],
            env=base_env,
            cwd=REPO,
            log_path=self.workdir / "identity.log",
        )
        self._exit.callback(identity.stop)
        identity.start(lambda: port_open(identity_port), timeout=30)
        self.processes.append(identity.popen)
        self.identity_url = f"http://127.0.0.1:{identity_port}"

    def _start_emulator(self, base_env: dict[str, str]) -> None:
        """After Azurite: batch reads recordings from it by URL with the emulator's own identity, granted the
        input containers only (in Azure the Speech resource's identity is granted the account, ``infra/``)."""
        grants = [
            arg for name in self.readable_containers for arg in ("--batch-readable", f"{self.storage.blob}/{name}")
        ]
        self.speech_endpoint, self.emulator = self._exit.enter_context(
            start_emulator(
                extra_args=(*self.emulator_args, *grants),
                env={**base_env, "REQUESTS_CA_BUNDLE": str(self.certificate.ca_bundle)},
                log_path=self.workdir / "speech-emulator.log",
                startup_timeout=120,
            )
        )
        self.processes.append(self.emulator)

    def _app_settings(self, header: str) -> dict[str, str]:
        """The app settings that point at the stack, identity-based as ``infra/`` sets them."""
        storage_settings = {}
        for connection in (STORAGE_CONNECTION, HOST_STORAGE_CONNECTION):
            storage_settings.update(
                identity_connection(
                    connection, blob_service_uri=self.storage.blob, queue_service_uri=self.storage.queue
                )
            )
        return {
            SPEECH_ENDPOINT: self.speech_endpoint,
            INPUT_CONTAINER: Settings.input_container,
            OUTPUT_CONTAINER: Settings.output_container,
            COMPLETION_QUEUE: COMPLETION_QUEUE_NAME,
            # the sweep's timer binding reads it (%SWEEP_SCHEDULE%): a host without it does not start
            SWEEP_SCHEDULE: Settings.sweep_schedule,
            **storage_settings,
            "REQUESTS_CA_BUNDLE": str(self.certificate.ca_bundle),
            "IDENTITY_ENDPOINT": f"{self.identity_url}{TOKEN_PATH}",
            "IDENTITY_HEADER": header,
            "LOCAL_IDENTITY_SECRET": self._secret,
            # generated here as infra/ generates it at deployment: a key to the web hook route only
            SPEECH_WEBHOOK_SECRET: secrets.token_urlsafe(32),
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

    @contextmanager
    def quota_emulator(self, max_sessions: int, log_path: Path, recognizers: int = 2) -> Iterator[str]:
        """A second speech emulator that refuses sessions past ``max_sessions`` (429 at the upgrade, as the
        service does past a resource's quota); yields its ``ws://`` URL.

        It checks tokens as the stack's own does, so the app talks to it unchanged; ``recognizers`` of 2
        recognise two sessions side by side, so a quota of 2 behaves as 2 and not as 1.
        """
        env = {**os.environ, "LOCAL_IDENTITY_SECRET": self._secret, "HF_HUB_OFFLINE": "1"}
        args = ("--require-token", "--max-sessions", str(max_sessions), "--recognizers", str(recognizers))
        with start_emulator(port=None, extra_args=args, env=env, log_path=log_path, startup_timeout=120) as (url, _):
            yield url

    def spoil_tokens(self, resource: str, mode: str, count: int = 1) -> None:
        """The identity endpoint answers the next ``count`` token requests for ``resource`` with ``mode``: a
        spoiled token (``expired``, ``wrong-audience``), an HTTP error (``status-500``), ``trickle`` or
        ``silent`` (``local_stack.identity``); ``count=0`` heals it."""
        body = json.dumps({"resource": resource, "mode": mode, "count": count}).encode()
        request = urllib.request.Request(
            f"{self.identity_url}/faults", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    @contextmanager
    def webhook(self, web_url: str) -> Iterator[str]:
        """The app's batch web hook at ``web_url`` registered on the emulator as ``scripts/post-deploy.sh``
        registers it (the route answers the challenge first); deleted when the block ends. Yields its id."""
        registered = _speech_rest(self, "POST", WEBHOOKS_PATH, webhook_registration(web_url, self.env))
        try:
            yield registered["self"].rsplit("/", 1)[1].split("?", 1)[0]
        finally:
            _speech_rest(self, "DELETE", registered["self"])

    def create_containers(self) -> None:
        """The containers and the completion queue the app expects (in Azure, infra/ creates them)."""
        with self.blob_service() as service:
            for name in (self.env[INPUT_CONTAINER], self.env[OUTPUT_CONTAINER]):
                if not service.get_container_client(name).exists():
                    service.create_container(name)
        with self.queue_service() as queues:
            from azure.core.exceptions import ResourceExistsError

            with suppress(ResourceExistsError):
                queues.create_queue(self.env[COMPLETION_QUEUE])


def webhook_registration(web_url: str, env: dict[str, str]) -> dict[str, object]:
    """The web hook's registration: completions only, signed with the app's ``SPEECH_WEBHOOK_SECRET``."""
    return {
        "displayName": "stt-pipeline batch completions",
        "webUrl": web_url,
        "events": {"transcriptionCompletion": True},
        "properties": {"secret": env[SPEECH_WEBHOOK_SECRET]},
    }


def _speech_rest(stack: LocalStack, method: str, path_or_url: str, body: object = None) -> dict:
    """One call to the emulator's REST API as the deploying operator (a token of the stack's own minting)."""
    base = stack.speech_endpoint.replace("ws://", "http://", 1)
    url = path_or_url if path_or_url.startswith("http") else f"{base}{path_or_url}?api-version={WEBHOOKS_API}"
    token = stack.operator_credential().get_token("https://cognitiveservices.azure.com/.default").token
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else {}


@contextmanager
def ready_stack(**options: object) -> Iterator[LocalStack]:
    """The stack started, its containers and queue made, and this process's app settings pointed at it.

    What the tests' ``stack`` fixture, the benchmarks and ``make run`` all start from.
    """
    with LocalStack(**options) as stack:
        stack.create_containers()
        stack.apply_env()
        yield stack
