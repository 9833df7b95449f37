"""``python -m shared.status``: the entry point of ``shared.cli.status`` (see its docstring)."""

import sys

from shared.cli.status import main

if __name__ == "__main__":
    sys.exit(main())
