"""The memory run's figures from its samples: slopes, total growth, the table and the plot.

Two figures per run, because either alone misleads: the slope over the last 80 % (the first 20 % load
modules and grow the allocator's arenas) says whether memory still grows at the end, and the total growth
from the first invocation to the last says what a long-lived worker paid, steps included (growth that comes
in steps has a small slope between them). The allocator's own account (in use and held free) tells growth
the native side still uses from memory it freed and the allocator kept.
"""

from __future__ import annotations

from pathlib import Path

from bench import harness
from bench.memory_variants import VARIANTS

#: How much of the start is warm-up, left out of the slope.
WARM_UP_FRACTION = 0.2
KIB, MIB = 1024, 2**20


def key(variant: str, allocator: str) -> str:
    """A result's name in the report: the variant's letter, with ``@allocator`` unless the shipped one."""
    return variant if allocator == "shipped" else f"{variant}@{allocator}"


def slope_kib(values: list[float | None]) -> float | None:
    """KiB per invocation over the last 80 %, or ``None`` for a figure the allocator does not give."""
    if any(v is None for v in values):
        return None
    return round(harness.slope_per_step(values, skip_fraction=WARM_UP_FRACTION) / KIB, 2)


def summarise(samples: list[dict]) -> dict:
    rss = [s["rss"] for s in samples]
    seconds = sorted(s["seconds"] for s in samples)
    growth = rss[-1] - rss[0]
    return {
        "slope_kib_per_invocation": slope_kib(rss),
        "growth_mib": round(growth / MIB, 2),
        "growth_kib_per_invocation": round(growth / KIB / max(len(rss) - 1, 1), 2),
        "rss_first_mib": round(rss[0] / MIB, 1),
        "rss_end_mib": round(rss[-1] / MIB, 1),
        "rss_max_mib": round(max(rss) / MIB, 1),
        "anon_growth_mib": _growth_mib(samples, "rss_anon"),
        "heap_in_use_growth_mib": _growth_mib(samples, "heap_in_use"),
        "heap_free_growth_mib": _growth_mib(samples, "heap_free"),
        "heap_in_use_slope_kib": slope_kib([s.get("heap_in_use") for s in samples]),
        "heap_free_slope_kib": slope_kib([s.get("heap_free") for s in samples]),
        "py_blocks_growth": samples[-1].get("py_blocks", 0) - samples[0].get("py_blocks", 0),
        "threads_end": samples[-1]["threads"],
        "threads_max": max(s["threads"] for s in samples),
        "fds_end": samples[-1]["fds"],
        "fds_max": max(s["fds"] for s in samples),
        "median_invocation_seconds": round(seconds[len(seconds) // 2], 3),
        "failed": sum(s["status"] != "transcribed" for s in samples),
        "redelivered": sum((s.get("deliveries") or 1) > 1 for s in samples),
    }


def _growth_mib(samples: list[dict], name: str) -> float | None:
    """How much ``name`` grew from after the first invocation to after the last, in MiB (``None``: not known)."""
    first, last = samples[0].get(name), samples[-1].get(name)
    return None if first is None or last is None else round((last - first) / MIB, 2)


def figures(result: dict) -> dict:
    """A saved result with its figures computed again from its samples (a report saved by an older run has
    fewer)."""
    return {**result, **summarise(result["samples"])}


def label(result: dict) -> str:
    """What a result measured: its own ``label`` (the bare SDK loop's cases), else its variant's."""
    return result.get("label") or VARIANTS[result["variant"]].label


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def table(report: dict) -> str:
    rows = []
    for r in map(figures, report["variants"].values()):
        rows.append(
            [
                f"({r['variant']}) {label(r)}",
                r.get("allocator", "shipped"),
                len(r["samples"]),
                f"{r['slope_kib_per_invocation']:+.2f}",
                f"{r['growth_mib']:+.2f} ({r['rss_first_mib']:.1f} → {r['rss_end_mib']:.1f})",
                f"{_figure(r['heap_in_use_growth_mib'])} / {_figure(r['heap_free_growth_mib'])}",
                f"{r['threads_end']} / {r['threads_max']}",
                f"{r['fds_end']} / {r['fds_max']}",
                f"{r['median_invocation_seconds']:.2f}",
                f"{r['failed']}" + (f" ({r['redelivered']} delivered again)" if r["redelivered"] else ""),
            ]
        )
    header = [
        "variant",
        "allocator",
        "invocations",
        "slope KiB/inv (last 80 %)",
        "total growth MiB (after 1st → last)",
        "of it: malloc in use / held free MiB",
        "threads end / max",
        "fds end / max",
        "median s/inv",
        "failed",
    ]
    return harness.markdown_table(header, rows)


def plot(report: dict, path: Path) -> None:
    """RSS vs invocation per result and, beside it, the allocator's in use (solid) and held free (dashed).

    (d), when present, gets its own panel so it does not flatten the others.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {k: figures(r) for k, r in report["variants"].items()}
    panels = [[k for k in results if results[k]["variant"] != "d"]]
    panels += [[k for k in results if results[k]["variant"] == "d"]] if len(panels[0]) < len(results) else []
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(8 * (len(panels) + 1), 5), dpi=100, squeeze=False)
    colours = {k: f"C{i}" for i, k in enumerate(results)}
    for ax, shown in zip(axes[0], panels, strict=False):
        for k in shown:
            r = results[k]
            legend = (
                f"({k}) {label(r).split(' (')[0]}: {r['slope_kib_per_invocation']:+.2f} KiB/inv, "
                f"{r['growth_mib']:+.2f} MiB"
            )
            ax.plot(_xs(r), [s["rss"] / MIB for s in r["samples"]], label=legend, linewidth=1, color=colours[k])
        _axes(ax, "RSS after the invocation (MiB)")
    heap = axes[0][-1]
    _heap_panel(heap, results, colours)
    _axes(heap, "malloc: in use (solid), held free (dashed), MiB since the 1st")
    fig.suptitle(
        f"Blob handler, {report['n']} sequential invocations per variant ({report['audio']}); "
        "slope over the last 80 %, total growth after the 1st",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _heap_panel(ax, results: dict[str, dict], colours: dict[str, str]) -> None:
    """Each result's malloc in use (solid) and held free (dashed), as growth since the first invocation."""
    for k, r in results.items():
        first = r["samples"][0]
        if r["variant"] == "d" or first.get("heap_in_use") is None:
            continue
        for name, style, what in (("heap_in_use", "-", "in use"), ("heap_free", "--", "held free")):
            if first.get(name) is not None:
                growth = [(s[name] - first[name]) / MIB for s in r["samples"]]
                ax.plot(_xs(r), growth, color=colours[k], linewidth=1, linestyle=style, label=f"({k}) {what}")


def _xs(result: dict) -> range:
    return range(1, len(result["samples"]) + 1)


def _axes(ax, ylabel: str) -> None:
    ax.set_xlabel("invocation")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # a report saved before the allocator's figures has none to show
        ax.legend(loc="upper left", fontsize=7)
