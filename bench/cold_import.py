"""Cold import of ``function_app``: what a new instance pays before it can index and dispatch.

    python -m bench.cold_import [--runs 9] [--out bench/out]

Each run is a fresh interpreter with ``python -X importtime``; the figure is ``function_app``'s
cumulative import time (median of the runs), in two conditions:

- ``fresh``: nothing imported before ``function_app``;
- ``worker``: ``azure.functions`` and ``azurefunctions.extensions.base`` imported first, as the Python
  worker does at its own start-up (``load_binding_registry()`` in its worker-init handler), before it
  imports the app to index it.

Also lists the heaviest modules under ``function_app`` and checks that the invocation path's heavy
modules (the Speech SDK, PyAV, numpy) are not loaded by the import: they load on the first invocation.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench.harness import OUT, REPO, machine, markdown_table, write_json

CONDITIONS = {
    "fresh": "",
    "worker": "import azure.functions, azurefunctions.extensions.base; ",
}
#: Loaded inside the invocation path, never by the import (each is tens of ms or MB).
LAZY_MODULES = ("azure.cognitiveservices.speech", "av", "numpy")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def import_times(prelude: str) -> tuple[float, dict[str, float]]:
    """One fresh interpreter: function_app's cumulative import ms, and each direct child's."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-c", f"{prelude}import function_app"],
                               cwd=REPO, capture_output=True, text=True, check=True)
    entries = []  # (depth, name, cumulative ms), in importtime's order: children before their parent
    for line in completed.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            _, cumulative, indent, name = match.groups()
            entries.append((len(indent) // 2, name, int(cumulative) / 1000))
    at = next(i for i, (depth, name, _) in enumerate(entries) if depth == 0 and name == "function_app")
    children: dict[str, float] = {}
    for depth, name, ms in reversed(entries[:at]):
        if depth == 0:
            break  # the previous top-level import: function_app's subtree ends here
        if depth == 1:
            children[name] = ms
    return entries[at][2], children


def heavy_modules_loaded() -> list[str]:
    """Which of ``LAZY_MODULES`` ``import function_app`` loads (should be none)."""
    code = ("import sys, json, function_app; "
            f"print(json.dumps([m for m in {list(LAZY_MODULES)!r} if m in sys.modules]))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def measure(runs: int = 9) -> dict:
    report: dict = {"runs": runs, "machine": machine(), "conditions": {}}
    for condition, prelude in CONDITIONS.items():
        totals: list[float] = []
        parts: dict[str, list[float]] = {}
        for _ in range(runs):
            total, children = import_times(prelude)
            totals.append(total)
            for name, ms in children.items():
                parts.setdefault(name, []).append(ms)
        largest = sorted(((statistics.median(v), k) for k, v in parts.items() if len(v) == runs), reverse=True)
        report["conditions"][condition] = {
            "median_ms": round(statistics.median(totals), 1),
            "min_ms": round(min(totals), 1),
            "max_ms": round(max(totals), 1),
            "largest_children_ms": {name: round(ms, 1) for ms, name in largest[:6]},
        }
    report["lazy_modules_loaded_by_import"] = heavy_modules_loaded()
    return report


def table(report: dict) -> str:
    rows = []
    for condition, r in report["conditions"].items():
        children = ", ".join(f"{name} {ms:.0f}" for name, ms in r["largest_children_ms"].items())
        rows.append([condition, f"{r['median_ms']:.0f}", f"{r['min_ms']:.0f}–{r['max_ms']:.0f}", children])
    text = markdown_table(["condition", "median ms", "range ms", "largest parts (ms, cumulative)"], rows)
    loaded = report["lazy_modules_loaded_by_import"]
    return text + f"\n\nloaded by the import, of {', '.join(LAZY_MODULES)}: {', '.join(loaded) or 'none'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_import", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per condition (default 9)")
    parser.add_argument("--out", type=Path, default=OUT, help="where cold_import.json goes")
    args = parser.parse_args(argv)
    report = measure(args.runs)
    print(table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "cold_import.json", report)
    print(f"wrote {args.out / 'cold_import.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
