"""Transcribe every blob in the input container that still needs a transcript.

    python -m shared.backfill [--prefix jobs/] [--dry-run]

What an operator runs after an outage, and ``make run`` locally, where no Functions host runs: the blob
door over each pending recording (``shared.recordings.pending``), one at a time. Exit status: 0 when every
blob ended transcribed or skipped, 1 when any failed, 2 when the settings or the storage cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from shared.errors import TranscriptionError, print_error
from shared.recordings.catch_up import catch_up
from shared.recordings.door import BlobOutcome
from shared.recordings.pending import pending
from shared.settings import Settings


def run(settings: Settings, names: list[str], out: TextIO | None = None) -> int:
    """Run the blob door over ``names`` (``shared.recordings.catch_up``), a progress line each; how many failed."""
    out = out or sys.stdout
    ended: list[BlobOutcome] = []

    def progress(name: str, outcome: BlobOutcome) -> None:
        ended.append(outcome)
        print(f"[{len(ended)}/{len(names)}] {name}: {_status(outcome)}", file=out, flush=True)

    catch_up(settings, names, on_outcome=progress)
    return sum(outcome.status == "failed" for outcome in ended)


def _status(outcome: BlobOutcome) -> str:
    error = outcome.error
    if error is None:
        return outcome.status
    if error.transient:  # recorded in .error.json: the sweep, or a later run, tries again
        return f"failed (transient, run again later): {error.code}: {error.message}"
    return f"failed: {error.code}"


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


if __name__ == "__main__":
    sys.exit(main())
