"""``python -m shared.backfill``: the entry point of ``shared.cli.backfill`` (see its docstring)."""

import sys

from shared.cli.backfill import main

if __name__ == "__main__":
    sys.exit(main())
