"""Cold import of ``function_app``: what a new instance pays before it can index and dispatch.

    python -m bench.cold_import [--runs 9] [--out bench/out]

Each run is two fresh interpreters: one with ``python -X importtime``, for ``function_app``'s
cumulative import time and where it goes, and one timing the import by the clock alone (what a worker
pays; the instrumentation adds its own time). Medians of the runs, in two conditions:

- ``fresh``: nothing imported before ``function_app``;
- ``worker``: ``azure.functions`` and ``azurefunctions.extensions.base`` imported first, as the Python
  worker does at its own start-up (``load_binding_registry()`` in its worker-init handler), before it
  imports the app to index it.

Also lists the heaviest modules under ``function_app`` and checks that the invocation path's heavy
modules (the Speech SDK, PyAV, numpy) are not loaded by the import: they load on the first invocation,
whose imports the clock run times too (the deferred half of a cold start, paid after indexing).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench.harness import OUT, REPO, machine, markdown_table, save_report

CONDITIONS = {
    "fresh": "",
    "worker": "import azure.functions, azurefunctions.extensions.base; ",
}
#: Loaded inside the invocation path, never by the import (each is tens of ms or MB).
LAZY_MODULES = ("azure.cognitiveservices.speech", "av", "numpy")
#: What the first blob invocation imports before its work starts: the deferred half of a cold start.
FIRST_INVOCATION_MODULES = ("shared.recordings.door", "shared.speech", "shared.output.formats")
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def import_times(prelude: str) -> tuple[float, dict[str, float]]:
    """One fresh interpreter: function_app's cumulative import ms, and each direct child's."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{prelude}import function_app"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
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


def wall_ms(prelude: str) -> tuple[float, float]:
    """One fresh interpreter: ``import function_app`` timed by the clock alone, without ``-X importtime``,
    then the imports the first blob invocation adds (``FIRST_INVOCATION_MODULES``), in ms.

    ``-X importtime`` says where the time goes but adds its own (a timer and a line of output per module,
    ~1,000 modules here); this is the figure a worker pays.
    """
    code = (
        f"{prelude}import time, importlib; t = time.perf_counter(); import function_app; "
        "u = time.perf_counter(); "
        f"[importlib.import_module(m) for m in {list(FIRST_INVOCATION_MODULES)!r}]; "
        "print(u - t, time.perf_counter() - u)"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    app, first = (float(x) * 1000 for x in completed.stdout.split())
    return app, first


def after_import() -> dict:
    """What ``import function_app`` leaves: which ``LAZY_MODULES`` it loaded (none) and the collector's state."""
    code = (
        "import gc, sys, json, function_app; "
        f"print(json.dumps({{'lazy': [m for m in {list(LAZY_MODULES)!r} if m in sys.modules], "
        "'gc_enabled': gc.isenabled(), 'gc_frozen': gc.get_freeze_count()}))"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def measure(runs: int = 9) -> dict:
    report: dict = {"runs": runs, "machine": machine(), "conditions": {}}
    for condition, prelude in CONDITIONS.items():
        totals: list[float] = []
        walls: list[float] = []
        firsts: list[float] = []
        parts: dict[str, list[float]] = {}
        for _ in range(runs):  # alternate the two ways, so a change in the machine's speed hits both
            total, children = import_times(prelude)
            totals.append(total)
            app, first = wall_ms(prelude)
            walls.append(app)
            firsts.append(first)
            for name, ms in children.items():
                parts.setdefault(name, []).append(ms)
        largest = sorted(((statistics.median(v), k) for k, v in parts.items() if len(v) == runs), reverse=True)
        report["conditions"][condition] = {
            "median_ms": round(statistics.median(totals), 1),
            "min_ms": round(min(totals), 1),
            "max_ms": round(max(totals), 1),
            "wall_median_ms": round(statistics.median(walls), 1),
            "wall_min_ms": round(min(walls), 1),
            "wall_max_ms": round(max(walls), 1),
            "first_invocation_imports_median_ms": round(statistics.median(firsts), 1),
            "largest_children_ms": {name: round(ms, 1) for ms, name in largest[:6]},
        }
    state = after_import()
    report["lazy_modules_loaded_by_import"] = state["lazy"]
    report["gc_after_import"] = {"enabled": state["gc_enabled"], "frozen_objects": state["gc_frozen"]}
    return report


def table(report: dict) -> str:
    rows = []
    for condition, r in report["conditions"].items():
        children = ", ".join(f"{name} {ms:.0f}" for name, ms in r["largest_children_ms"].items())
        rows.append(
            [
                condition,
                f"{r['wall_median_ms']:.0f}",
                f"{r['wall_min_ms']:.0f}–{r['wall_max_ms']:.0f}",
                f"{r['median_ms']:.0f}",
                f"{r['min_ms']:.0f}–{r['max_ms']:.0f}",
                f"{r['first_invocation_imports_median_ms']:.0f}",
                children,
            ]
        )
    text = markdown_table(
        [
            "condition",
            "median ms (clock)",
            "range ms (clock)",
            "median ms (-X importtime)",
            "range ms (-X importtime)",
            "then the first invocation's imports, median ms (clock)",
            "largest parts (ms, -X importtime, cumulative)",
        ],
        rows,
    )
    loaded = report["lazy_modules_loaded_by_import"]
    gc_state = report["gc_after_import"]
    return (
        text + f"\n\nloaded by the import, of {', '.join(LAZY_MODULES)}: {', '.join(loaded) or 'none'}"
        f"\ncollector after the import: {'enabled' if gc_state['enabled'] else 'DISABLED'}, "
        f"{gc_state['frozen_objects']} objects frozen"
        f"\nspeed probe (a fixed Python loop; compare runs' times only when alike): "
        f"{report['machine']['speed_probe_ms']} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_import", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per condition (default 9)")
    parser.add_argument("--out", type=Path, default=OUT, help="where cold_import.json goes")
    args = parser.parse_args(argv)
    report = measure(args.runs)
    print(table(report))
    save_report(report, args.out / "cold_import.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
