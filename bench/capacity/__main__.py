"""``python -m bench.capacity [--quick] [--only TEXT] [--out DIR] [--plot JSON]``

Prints the scenario table and writes ``capacity.json`` and ``capacity.png`` to ``--out``. A model's
figures, not pass/fail: tests/test_capacity_model.py checks its invariants.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.capacity import report
from bench.capacity.scenarios import scenarios
from bench.harness import OUT, replot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capacity", description="Capacity model of a burst, by simulation (docs/capacity.md)."
    )
    parser.add_argument("--quick", action="store_true", help="every row with 1/20 of its recordings (seconds)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="run only the rows whose name contains TEXT (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where capacity.json and .png go (default bench/out)")
    parser.add_argument("--plot", type=Path, metavar="JSON", help="redraw the plot of a saved run and exit")
    args = parser.parse_args(argv)
    if args.plot:
        replot(args.plot, report.table, report.plot)
        return 0
    rows = [row for row in scenarios(args.quick) if not args.only or any(t in row.name for t in args.only)]
    if not rows:
        parser.error(f"no scenario matches {args.only}")
    print(f"simulating {len(rows)} scenarios{' (quick)' if args.quick else ''} ...", flush=True)
    report.run(rows, quick=args.quick, out=args.out, echo=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
