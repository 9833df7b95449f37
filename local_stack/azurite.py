"""Azurite, the storage emulator, from the pinned npm install in ``tools/azurite``: HTTPS + OAuth.

Run as production is reached: ``--oauth basic`` over HTTPS, so the app's clients authenticate with
Bearer tokens from the local managed-identity endpoint, never with an account key. (Azurite would
still accept its well-known development key; nothing in this project uses it, and a test keeps it
out of the app's code.)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from local_stack.certs import LocalCertificate
from local_stack.processes import ManagedProcess, free_port, port_open

REPO = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"

#: Azurite's development account name: part of every service URL it serves.
ACCOUNT = "devstoreaccount1"


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob: str  # https://127.0.0.1:P/devstoreaccount1
    queue: str


def azurite_command() -> str:
    if AZURITE_BIN.exists():
        return str(AZURITE_BIN)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("Azurite is not installed: run `make install` (npm install in tools/azurite)")


def start_azurite(
    workdir: Path, certificate: LocalCertificate, log_path: Path | None = None
) -> tuple[ManagedProcess, AzuriteEndpoints]:
    """Start blob + queue on free ports, in memory, HTTPS with OAuth; returns the process and its URLs."""
    blob_port, queue_port, table_port = free_port(), free_port(), free_port()
    args = [
        azurite_command(),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(blob_port),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(queue_port),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(table_port),
        "--oauth",
        "basic",
        "--cert",
        str(certificate.cert),
        "--key",
        str(certificate.key),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]
    process = ManagedProcess("azurite", args, log_path=log_path, cwd=workdir)
    process.start(lambda: port_open(blob_port) and port_open(queue_port), timeout=60)
    return process, AzuriteEndpoints(
        blob=f"https://127.0.0.1:{blob_port}/{ACCOUNT}", queue=f"https://127.0.0.1:{queue_port}/{ACCOUNT}"
    )
