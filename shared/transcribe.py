"""``python -m shared.transcribe``: the entry point of ``shared.cli.transcribe`` (see its docstring)."""

import sys

from shared.cli.transcribe import main

if __name__ == "__main__":
    sys.exit(main())
