"""The project's commands: ``python -m shared.transcribe`` (one local file) and ``python -m shared.backfill``
(every recording in the input container that has no transcript). Each runs the same code the functions
run; ``shared/transcribe.py`` and ``shared/backfill.py`` are their ``-m`` entry points."""

import sys

from shared.errors import TranscriptionError


def print_error(error: TranscriptionError) -> None:
    """The one line every command prints on stderr for a typed error: ``error: <code>: <message>``."""
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
