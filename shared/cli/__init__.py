"""The project's commands: ``python -m shared.transcribe`` (one local file), ``python -m shared.backfill``
(every recording in the input container that still needs a transcript) and ``python -m shared.status``
(recordings by state, jobs by status). Each runs the same code the functions run; ``shared/transcribe.py``,
``shared/backfill.py`` and ``shared/status.py`` are their ``-m`` entry points."""

import sys

from shared.errors import TranscriptionError


def print_error(error: TranscriptionError) -> None:
    """The one line every command prints on stderr for a typed error: ``error: <code>: <message>``."""
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
