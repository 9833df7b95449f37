"""Where the pipeline stands, at a glance: recordings by state (``submitted``: with batch transcription, waiting
for it), jobs by status.

    python -m shared.status [--prefix jobs/] [--json]

From listings only; the states are ``shared.recordings.pending``'s. Exit status: 0; 2 when the settings or the
storage cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.errors import TranscriptionError, print_error
from shared.jobs.listing import count_jobs
from shared.jobs.store import store_for
from shared.platform import storage
from shared.recordings.pending import REFUSED, counts, scan
from shared.settings import Settings


def status(settings: Settings, prefix: str | None = None) -> dict[str, object]:
    """``{"recordings": {state: n}, "jobs": {status: n}, "refused": [name, ...]}``."""
    recordings = scan(settings, prefix)
    with storage.connect(settings) as clients:
        jobs = count_jobs(store_for(clients, settings))
    return {
        "recordings": counts(recordings),
        "jobs": jobs,
        "refused": [recording.name for recording in recordings if recording.state == REFUSED],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.status", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", help="only recordings whose name starts with this")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of two lines")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        found = status(settings, args.prefix)
    except TranscriptionError as error:
        print_error(error)
        return 2
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"recordings in {settings.input_container}: " + ", ".join(f"{n} {k}" for k, n in found["recordings"].items()))
    print("jobs: " + ", ".join(f"{n} {k}" for k, n in found["jobs"].items()))
    for name in found["refused"]:
        print(f"refused, rename it: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
