"""Transcribe every blob in the input container that has no transcript yet.

What an operator runs after an outage (events lost or exhausted their retries), and what
``make run`` uses locally where no Functions host runs. It calls the blob function's own handler for
each blob: one transcription path, not a second host.

    python -m shared.backfill [--prefix jobs/] [--dry-run]

Which blobs count as pending is ``shared.pending``'s answer.

Exit status: 0 when every blob ended transcribed or skipped, 1 when any failed, 2 when the settings
or the storage cannot be used (one line on stderr: ``error: <code>: <message>``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from shared import storage
from shared.blob_door import RETRY, handle_blob
from shared.cli import print_error
from shared.errors import TranscriptionError
from shared.pending import pending
from shared.settings import Settings


def run(settings: Settings, names: list[str], out: TextIO | None = None) -> int:
    """Run the blob handler over ``names``, a progress line each; returns how many failed."""
    out = out or sys.stdout
    failed = 0
    with storage.blob_service(settings) as service:
        inputs = service.get_container_client(settings.input_container)
        for i, name in enumerate(names, 1):
            outcome = handle_blob(inputs.get_blob_client(name), settings, via=RETRY)
            error = outcome.error
            if error is None:
                status = outcome.status
            elif error.transient:  # recorded in .error.json: the sweep, or a later run, tries again
                status = f"failed (transient, run again later): {error.code}: {error.message}"
            else:
                status = f"failed: {error.code}"
            failed += outcome.status == "failed"
            print(f"[{i}/{len(names)}] {name}: {status}", file=out, flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.backfill", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="only blobs whose name starts with this")
    parser.add_argument("--dry-run", action="store_true", help="list what would be transcribed and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        names = pending(settings, args.prefix)
    except TranscriptionError as error:
        print_error(error)
        return 2
    print(f"{len(names)} blob(s) in {settings.input_container} without a transcript", flush=True)
    if args.dry_run:
        for name in names:
            print(name)
        return 0
    return 1 if run(settings, names) else 0

