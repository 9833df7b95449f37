"""What ``python -m bench.capacity`` prints and saves: the scenario table, the plot, the JSON.

The JSON holds every figure of every row plus the samples the plot is drawn from, so ``--plot``
redraws it without simulating again (``bench.harness.replot``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.capacity.assumptions import DAY, MODEL_VERSION, Assumptions
from bench.capacity.run import Scenario, simulate, summarize
from bench.capacity.workload import MIX
from bench.harness import markdown_table, save_report, speed_probe_ms

HEADER = (
    "scenario",
    "N",
    "quota",
    "engine (fast share)",
    "fleet + sweep",
    "all settled (h)",
    "ideal (h)",
    "x ideal",
    "99 % (h)",
    "last transcript (h)",
    "peak sessions",
    "peak fast / min (batch / 10 s)",
    "deliveries mean / p99 / max",
    "refused starts",
    "waiting fn-h",
    "by sweep",
    "left",
    "given up",
    "events lost / expired",
)


def run(rows: Sequence[Scenario], *, quick: bool, out: Path | None, echo: Callable[[str], None] = print) -> dict:
    """Simulate each row, print the table, save JSON and plot to ``out`` (None: don't save)."""
    probe = speed_probe_ms()
    started = time.perf_counter()
    results = []
    for scenario in rows:
        begun = time.perf_counter()
        summary = summarize(simulate(scenario))
        summary["wall_s"] = round(time.perf_counter() - begun, 2)
        results.append(summary)
        echo(f"  {scenario.name}: {_settled(summary)}, {summary['events_simulated']} events, {summary['wall_s']} s")
    report = {
        "benchmark": "capacity",
        "model_version": MODEL_VERSION,
        "quick": quick,
        "wall_s": round(time.perf_counter() - started, 1),
        "speed_probe_ms": probe,
        "assumptions": dataclasses.asdict(Assumptions()),
        "mix": [dataclasses.asdict(kind) for kind in MIX],
        "scenarios": results,
    }
    echo(table(report))
    echo(
        f"model version {MODEL_VERSION}: simulated {len(results)} scenarios in {report['wall_s']} s "
        f"(speed probe {probe} ms)"
    )
    if out is not None:
        save_report(report, out / "capacity.json", plot, echo)
    return report


def _settled(row: dict) -> str:
    if row["finished"]:
        return f"{row['end_h']:,.1f}"
    return f"not at {row['end_h'] * 3600 / DAY:.0f} d"


def _engine(row: dict) -> str:
    engine = row.get("engine", "realtime")
    return engine if engine in ("realtime", "batch") else f"{engine} ({100 * row['fast_share']:.1f} % fast)"


def _request_peak(row: dict) -> str:
    if row.get("engine") == "batch":
        return f"({row['batch_peak_per_10s']} / 10 s)"
    return f"{row.get('fast_peak_per_min', 0)}"


def _cell(value: float | None, digits: int = 1) -> str:
    return "never" if value is None else f"{value:,.{digits}f}"


def table(report: dict) -> str:
    """The scenario table (markdown), one row per scenario."""
    lines = []
    for r in report["scenarios"]:
        ratio = f"{r['end_h'] / r['ideal_h']:.2f}" if r["finished"] and r["ideal_h"] else "-"
        lines.append(
            (
                r["name"],
                f"{r['recordings']:,}",
                r["quota"],
                _engine(r),
                f"{r['instances']} x {r['per_instance']} + {r['sweep_concurrency']}",
                _settled(r),
                _cell(r["ideal_h"]),
                ratio,
                _cell(r["t99_h"]),
                _cell(r["last_done_h"]),
                f"{r['peak_sessions']} / {r['quota']}",
                _request_peak(r),
                f"{r['deliveries_mean']:.2f} / {r['deliveries_p99']} / {r['deliveries_max']}",
                f"{r['refused_host'] + r['refused_sweep']:,}",
                _cell(r["waiting_function_h"]),
                f"{r['done_by_sweep']:,}",
                f"{r['left']:,}",
                f"{r['given_up']:,}",
                f"{r['events_lost']} / {r['events_expired']:,}",
            )
        )
    notes = [f"- {r['name']}: {r['note']}" for r in report["scenarios"] if r["note"]]
    return "\n".join([markdown_table(HEADER, lines), "", *notes])


def plot(report: dict, png: Path) -> None:
    """Left: share of the burst transcribed over time. Right: when it settled against the ideal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["scenarios"]
    colours = plt.get_cmap("tab20")(range(len(rows)))
    fig, (curves, bars) = plt.subplots(1, 2, figsize=(15, 8), gridspec_kw={"width_ratios": [3, 2]})
    for colour, r in zip(colours, rows, strict=True):
        hours = [max(s[0], 0.01) for s in r["samples"]]
        share = [s[1] / r["recordings"] for s in r["samples"]]
        curves.plot(hours, share, color=colour, lw=1.6, label=r["name"])
    curves.set_xscale("log")
    curves.set_xlim(0.05, max(r["end_h"] for r in rows) * 1.2)
    curves.set_xlabel("hours since the burst began (log)")
    curves.set_ylabel("share of the burst transcribed")
    curves.set_title("Transcripts over time")
    curves.grid(True, which="both", alpha=0.3)
    _bars(bars, rows, colours)
    fig.suptitle(
        f"Capacity model v{report.get('model_version', 1)}: "
        f"{'quick run' if report['quick'] else 'bursts of 10,000 (F0: 100)'}, horizon 60 days"
    )
    fig.legend(*curves.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _bars(ax, rows: list[dict], colours) -> None:
    """Horizontal bars: hours until every recording was settled (hatched: horizon reached), ideal marked."""
    names = [r["name"] for r in rows]
    ends = [r["end_h"] for r in rows]
    ax.barh(names, ends, color=colours, hatch=[None if r["finished"] else "//" for r in rows], alpha=0.85)
    ax.scatter(
        [r["ideal_h"] for r in rows],
        names,
        marker="|",
        s=250,
        color="black",
        zorder=3,
        label="ideal: session time / usable sessions",
    )
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("hours until all transcribed or given up (log)\nhatched: horizon reached first")
    ax.set_title("Burst settled vs ideal")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
