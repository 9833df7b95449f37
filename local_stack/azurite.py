"""Azurite, the storage emulator, from the pinned npm install in ``tools/azurite``."""

from __future__ import annotations

import shutil
from pathlib import Path

from local_stack.processes import ManagedProcess, free_port, port_open

REPO = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"

#: Azurite's documented development account. It exists only inside the emulator; it never appears in
#: the app's code or settings in Azure (see tests for the grep that keeps it out).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(blob_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/{ACCOUNT};"
    )


def azurite_command() -> str:
    if AZURITE_BIN.exists():
        return str(AZURITE_BIN)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("Azurite is not installed: run `make install` (npm install in tools/azurite)")


def start_azurite(workdir: Path, log_path: Path | None = None) -> tuple[ManagedProcess, str]:
    """Start blob + queue on free ports with in-memory storage; returns the process and a connection string."""
    blob_port, queue_port, table_port = free_port(), free_port(), free_port()
    args = [
        azurite_command(), "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
        "--tableHost", "127.0.0.1", "--tablePort", str(table_port),
        "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
    ]
    process = ManagedProcess("azurite", args, log_path=log_path, cwd=workdir)
    process.start(lambda: port_open(blob_port) and port_open(queue_port), timeout=60)
    return process, connection_string(blob_port, queue_port)
