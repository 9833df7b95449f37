"""Memory over N sequential blob invocations: this project as shipped vs the pattern it replaces.

    python -m bench.memory [--n 500] [--variants a,b,c] [--out bench/out]

One fresh process per variant runs N invocations of the real blob handler (``shared.recordings.door.handle_blob``:
Azurite, a fresh token from the local identity endpoint, the real Speech SDK against the speech
emulator, transcript writes), each on its own blob (same audio), and records its RSS after every
invocation. The variants run back to back against the same local stack:

- ``a`` as shipped: fresh credential and token per invocation, every SDK object disposed, ``gc.collect()``;
- ``b`` the seed's pattern (``bench/seed_pattern.py``): cached service singleton and credential, SDK objects
  never stopped, disconnected or released, handlers left connected, no ``gc.collect()``;
- ``c`` as shipped without the explicit ``gc.collect()`` (does collecting after each invocation earn its cost?);
- ``d`` (on request) the seed's pattern with Python's automatic collector off as well: no session is ever
  reclaimed, so the slope is what each un-disposed session holds (native threads, socket, buffers);
- ``e`` as shipped with recognition options on: word timings and a phrase list (a ``PhraseListGrammar``
  per session), set as the app's defaults (``SPEECH_WORDS``, ``SPEECH_PHRASES``) in the child's environment;
- ``f`` as shipped through the fast engine (``SPEECH_ENGINE=fast``): a token, an azure-core pipeline and a
  streamed upload per invocation instead of a Speech session.

Prints a table (slope in KiB/invocation by least squares over the last 80 %, start/end RSS) and writes
``memory.json`` and ``memory.png`` (RSS vs invocation) to ``--out``. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
import uuid
from pathlib import Path

from bench import harness
from local_stack.stack import ready_stack
from shared.options import OPTION_SETTINGS

VARIANTS = {
    "a": "as shipped",
    "b": "seed pattern (cached singleton + credential, SDK objects never disposed, no GC)",
    "c": "as shipped without gc.collect()",
    "d": "seed pattern with the automatic GC off too (nothing ever reclaims a session)",
    "e": "as shipped with words and a phrase list on",
    "f": "as shipped through the fast engine",
}
#: What ``make bench`` runs; ``d`` is the bound on what (b) can retain, run on request (--variants abcd).
DEFAULT_VARIANTS = "abcef"
#: Variant ``e``'s app settings: every invocation asks for word timings and applies a phrase list.
OPTIONS_ON = {
    OPTION_SETTINGS["words"]: "true",
    OPTION_SETTINGS["phrases"]: "Zorvex,Quillana,Contoso,Fabrikam",
    OPTION_SETTINGS["phrase_weight"]: "1.5",
}
#: Each variant's app settings, when it has any.
VARIANT_SETTINGS = {"e": OPTIONS_ON, "f": {OPTION_SETTINGS["engine"]: "fast"}}
#: How much of the start is warm-up, left out of the slope.
WARM_UP_FRACTION = 0.2


def run(
    stack,
    *,
    n: int = 500,
    variants: str = DEFAULT_VARIANTS,
    audio: Path = harness.SHORT_AUDIO,
    seconds: float | None = harness.SHORT_SECONDS,
    out: Path | None = harness.OUT,
    echo=print,
) -> dict:
    """Run each variant in its own process against ``stack``; return (and optionally save) the figures."""
    data = harness.wav_clip(audio, seconds)
    run_id = uuid.uuid4().hex[:8]
    measured_on = harness.machine()  # before the runs: the load average says how busy the machine was
    results: dict[str, dict] = {}
    for variant in variants:
        prefix = f"bench-memory/{run_id}/{variant}"
        harness.upload_copies(stack, data, prefix, n)
        echo(f"variant {variant} ({VARIANTS[variant]}): {n} invocations ...")
        started = time.monotonic()
        child = harness.run_child(
            "bench.memory",
            ["--child", variant, "--prefix", prefix, "--n", str(n)],
            timeout=120 + 60 * n,
            env=VARIANT_SETTINGS.get(variant),
        )
        results[variant] = {**child, **summarise(child["samples"]), "wall_seconds": round(time.monotonic() - started)}
    audio_name = audio.name if seconds is None else f"first {seconds:g} s of {audio.name}"
    report = {
        "n": n,
        "audio": audio_name,
        "machine": measured_on,
        "variants": results,
        "load_average_after": harness.machine()["load_average_1_5_15"],
    }
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "memory.json", plot, echo)
    return report


def summarise(samples: list[dict]) -> dict:
    rss = [s["rss"] for s in samples]
    seconds = sorted(s["seconds"] for s in samples)
    return {
        "slope_kib_per_invocation": round(harness.slope_per_step(rss, skip_fraction=WARM_UP_FRACTION) / 1024, 2),
        "rss_first_mib": round(rss[0] / 2**20, 1),
        "rss_end_mib": round(rss[-1] / 2**20, 1),
        "rss_max_mib": round(max(rss) / 2**20, 1),
        "threads_end": samples[-1]["threads"],
        "threads_max": max(s["threads"] for s in samples),
        "fds_end": samples[-1]["fds"],
        "fds_max": max(s["fds"] for s in samples),
        "median_invocation_seconds": round(seconds[len(seconds) // 2], 3),
        "failed": sum(s["status"] != "transcribed" for s in samples),
    }


def table(report: dict) -> str:
    rows = []
    for variant, r in report["variants"].items():
        rows.append(
            [
                f"({variant}) {VARIANTS[variant]}",
                f"{r['slope_kib_per_invocation']:+.2f}",
                f"{r['rss_baseline_mib']:.1f}",
                f"{r['rss_first_mib']:.1f}",
                f"{r['rss_end_mib']:.1f}",
                f"{r['threads_end']} / {r['threads_max']}",
                f"{r['fds_end']} / {r['fds_max']}",
                f"{r['median_invocation_seconds']:.2f}",
                r["failed"],
            ]
        )
    header = [
        "variant",
        "slope KiB/inv (last 80 %)",
        "RSS before MiB",
        "after 1st MiB",
        f"after {report['n']} MiB",
        "threads end / max",
        "open fds end / max",
        "median s/inv",
        "failed",
    ]
    return harness.markdown_table(header, rows)


def plot(report: dict, path: Path) -> None:
    """RSS vs invocation; (d), when present, gets its own panel so it does not flatten the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = report["variants"]
    panels = [[v for v in variants if v != "d"]] + ([list(variants)] if "d" in variants else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(9 * len(panels), 5), dpi=100, squeeze=False)
    for ax, shown in zip(axes[0], panels, strict=True):
        for variant in shown:
            r = variants[variant]
            rss = [s["rss"] / 2**20 for s in r["samples"]]
            label = f"({variant}) {VARIANTS[variant].split(' (')[0]}: {r['slope_kib_per_invocation']:+.2f} KiB/inv"
            ax.plot(range(1, len(rss) + 1), rss, label=label, linewidth=1.2, color=f"C{'abcdef'.index(variant)}")
        ax.set_xlabel("invocation")
        ax.set_ylabel("RSS after the invocation (MiB)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(
        f"Blob handler, {report['n']} sequential invocations per variant ({report['audio']}); slope over the last 80 %",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def child(variant: str, prefix: str, n: int) -> dict:
    """The measured process: N invocations of the blob handler, RSS after each."""
    import psutil

    import function_app  # noqa: F401 - what a worker has loaded before the first invocation
    from shared.recordings import door as blob_door

    process = psutil.Process()
    container = harness.input_container()
    patch = contextlib.nullcontext()
    if variant in "bd":
        from bench import seed_pattern

        patch = seed_pattern.installed()
    if variant == "d":
        gc.disable()
    samples = []
    baseline = harness.rss_bytes()
    with patch as seed:
        for i in range(n):
            started = time.perf_counter()
            outcome = blob_door.handle_blob(
                harness.BlobRef(container, f"{prefix}/{i:05d}.wav"), collect_garbage=variant in "aef"
            )
            seconds = time.perf_counter() - started
            samples.append(
                {
                    "rss": process.memory_info().rss,
                    "threads": process.num_threads(),
                    "fds": process.num_fds(),
                    "seconds": round(seconds, 4),
                    "status": outcome.status,
                    "words": words_returned(outcome),
                    "engine": outcome.transcript.engine if outcome.transcript else None,
                }
            )
            del outcome
    if variant == "e" and not any(s["words"] for s in samples):
        raise RuntimeError("variant e returned no word timings: the options did not reach the session")
    if variant == "f" and any(s["engine"] != "fast" for s in samples if s["status"] == "transcribed"):
        raise RuntimeError("variant f ran another engine than fast: SPEECH_ENGINE did not reach the pipeline")
    if variant in "bd" and seed.requests != n:
        raise RuntimeError(
            f"the seed pattern served {seed.requests} of {n} invocations: the pipeline no longer "
            "calls credentials.fetch_token / SpeechSession; update bench/seed_pattern.py"
        )
    return {"variant": variant, "rss_baseline_mib": round(baseline / 2**20, 1), "samples": samples}


def words_returned(outcome) -> int:
    """How many words with times the invocation's transcript carries (0 unless word timings were asked for)."""
    transcript = outcome.transcript
    return sum(len(segment.words or ()) for segment in transcript.segments) if transcript else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="invocations per variant (default 500)")
    parser.add_argument(
        "--variants", default=DEFAULT_VARIANTS, help=f"which of {''.join(VARIANTS)} to run (default {DEFAULT_VARIANTS})"
    )
    parser.add_argument(
        "--audio", type=Path, default=harness.SHORT_AUDIO, help="a 16-bit PCM WAV (default samples/welcome.wav)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=harness.SHORT_SECONDS,
        help=f"use the first SECONDS of it (default {harness.SHORT_SECONDS}; 0 = all)",
    )
    parser.add_argument("--out", type=Path, default=harness.OUT, help="where memory.json and memory.png go")
    parser.add_argument("--plot", type=Path, metavar="JSON", help="redraw the table and plot of a saved memory.json")
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.write_json(args.json, child(args.child, args.prefix, args.n))
        return 0
    if args.plot:
        harness.replot(args.plot, table, plot)
        return 0
    if set(args.variants) - set(VARIANTS):
        parser.error(f"--variants takes letters from {''.join(VARIANTS)}")
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(
            stack,
            n=args.n,
            variants=args.variants,
            audio=args.audio,
            seconds=args.seconds or None,
            out=args.out,
            echo=lambda line: print(line, flush=True),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
