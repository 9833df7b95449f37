"""The app as the platform runs it on Python 3.13: cold start and memory inside the Functions runtime.

    python -m bench.runtime [--starts 5] [--n 200] [--out bench/out]

**Cold start**, ``--starts`` times on fresh workers (``local_stack.functions_host``): the worker process up to
its ``StartStream``; ``init`` (the runtime imports ``function_app`` and indexes it); metadata and loads; then,
on one worker, the first HTTP invocation (``GET /api/health``) and the first ``POST /api/transcriptions`` (a
2.8 s WAV), and on another, untouched one, the first blob invocation of the same audio.
**Memory**: ``--n`` sequential blob invocations in one worker, its RSS, threads and fds after each; beside it,
in the same run, the direct-call figure (``bench.memory`` variant a, the handler called in a plain process).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

from bench import harness
from bench.memory import summarise
from local_stack.functions_host import FunctionsHost
from local_stack.processes import free_port
from local_stack.stack import ready_stack

#: The first POST of the cold-start run.
TRANSCRIBE = "/api/transcriptions?format=txt"


def cold_starts(stack, starts: int, audio: bytes, echo=print) -> list[dict]:
    """One row per start: each step's seconds."""
    rows = []
    for i in range(starts):
        with FunctionsHost(stack, http_port=free_port(), timers=False) as host:
            row = {k: round(v, 3) for k, v in host.startup_seconds.items()}
            row["first_http_health"] = _timed(lambda h=host: _http(h.url("/api/health")))
            row["first_http_transcription"] = _timed(lambda h=host: _http(h.url(TRANSCRIBE), audio))
        (name,) = harness.upload_copies(stack, audio, f"bench-runtime/{uuid.uuid4().hex[:8]}", 1)
        with FunctionsHost(stack, http_port=free_port(), timers=False) as host:
            row["first_blob"] = _timed(lambda h=host, n=name: _invoke_blob(h, n))
        echo(f"start {i + 1}/{starts}: {row}")
        rows.append(row)
    return rows


def memory_in_runtime(stack, n: int, audio: bytes, echo=print) -> dict:
    names = harness.upload_copies(stack, audio, f"bench-runtime/{uuid.uuid4().hex[:8]}", n)
    samples = []
    with FunctionsHost(stack, http_port=free_port(), timers=False) as host:
        worker = psutil.Process(host.worker_pid)
        for i, name in enumerate(names, 1):
            started = time.perf_counter()
            _invoke_blob(host, name)
            rss = worker.memory_info().rss
            samples.append(
                {
                    "rss": rss,
                    "threads": worker.num_threads(),
                    "fds": worker.num_fds(),
                    "seconds": time.perf_counter() - started,
                    "status": "transcribed",
                }
            )
            if i % 50 == 0:
                echo(f"  {i}/{n} invocations in the runtime, worker RSS {rss / 2**20:.1f} MiB")
    return {"samples": samples, **summarise(samples)}


def _invoke_blob(host: FunctionsHost, name: str) -> None:
    function = host.functions["transcribe_blob"]
    container = host.settings["INPUT_CONTAINER"]
    host.invoker.blob(function, container, name, f"{host.stack.storage.blob}/{container}/{name}")


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return round(time.perf_counter() - started, 3)


def _http(url: str, body: bytes | None = None) -> None:
    """One request (POST when there is a body); urllib raises unless it answered 2xx."""
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=120) as response:
        response.read()


def run(stack, *, starts: int, n: int, out: Path | None, echo=print) -> dict:
    audio = harness.wav_clip(harness.SHORT_AUDIO, harness.SHORT_SECONDS)
    measured_on = harness.machine()
    echo(f"cold start: {starts} fresh workers ...")
    rows = cold_starts(stack, starts, audio, echo)
    echo(f"memory: {n} blob invocations inside the runtime ...")
    runtime = memory_in_runtime(stack, n, audio, echo)
    echo(f"memory: {n} direct calls of the handler (bench.memory variant a) ...")
    prefix = f"bench-runtime/{uuid.uuid4().hex[:8]}/direct"
    harness.upload_copies(stack, audio, prefix, n)
    direct = harness.run_child(
        "bench.memory", ["--child", "a", "--prefix", prefix, "--n", str(n)], timeout=120 + 60 * n
    )
    report = {
        "starts": rows,
        "n": n,
        "runtime": runtime,
        "direct": {**direct, **summarise(direct["samples"])},
        "machine": measured_on,
    }
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "runtime.json", plot, echo)
    return report


def table(report: dict) -> str:
    steps = list(report["starts"][0])
    rows = [
        [
            step,
            f"{statistics.median(r[step] for r in report['starts']) * 1000:.0f}",
            f"{min(r[step] for r in report['starts']) * 1000:.0f}-{max(r[step] for r in report['starts']) * 1000:.0f}",
        ]
        for step in steps
    ]
    init_http = [r["init"] + r["first_http_health"] for r in report["starts"]]
    rows.append(
        [
            "init + first HTTP (health)",
            f"{statistics.median(init_http) * 1000:.0f}",
            f"{min(init_http) * 1000:.0f}-{max(init_http) * 1000:.0f}",
        ]
    )
    cold = harness.markdown_table(["cold start step", "median ms", "range ms"], rows)
    memory_rows = [
        [
            where,
            f"{m['slope_kib_per_invocation']:+.2f}",
            f"{m['rss_first_mib']:.1f}",
            f"{m['rss_end_mib']:.1f}",
            f"{m['threads_end']} / {m['threads_max']}",
            f"{m['fds_end']} / {m['fds_max']}",
            f"{m['median_invocation_seconds']:.2f}",
        ]
        for where, m in (
            ("inside the runtime (worker)", report["runtime"]),
            ("direct call (bench.memory a)", report["direct"]),
        )
    ]
    memory = harness.markdown_table(
        [
            "blob invocations",
            "slope KiB/inv (last 80 %)",
            "RSS after 1st MiB",
            f"after {report['n']} MiB",
            "threads end / max",
            "fds end / max",
            "median s/inv",
        ],
        memory_rows,
    )
    return f"{cold}\n\n{memory}"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    for i, (where, key) in enumerate(
        (("inside the runtime (worker process)", "runtime"), ("direct call (bench.memory a)", "direct"))
    ):
        measured = report[key]
        rss = [s["rss"] / 2**20 for s in measured["samples"]]
        label = f"{where}: {measured['slope_kib_per_invocation']:+.2f} KiB/inv"
        ax.plot(range(1, len(rss) + 1), rss, label=label, linewidth=1.2, color=f"C{i}")
    ax.set_xlabel("blob invocation")
    ax.set_ylabel("RSS after the invocation (MiB)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{report['n']} sequential blob invocations, Python 3.13; slope over the last 80 %", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="fresh workers for the cold start (default 5)")
    parser.add_argument("--n", type=int, default=200, help="blob invocations for the memory run (default 200)")
    parser.add_argument("--out", type=Path, default=harness.OUT, help="where runtime.json and runtime.png go")
    parser.add_argument("--plot", type=Path, metavar="JSON", help="redraw the table and plot of a saved runtime.json")
    args = parser.parse_args(argv)
    if args.plot:
        harness.replot(args.plot, table, plot)
        return 0
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(stack, starts=args.starts, n=args.n, out=args.out, echo=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
