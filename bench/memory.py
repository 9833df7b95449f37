"""Memory over N sequential blob invocations: this project as shipped, with recognition options, through the
fast engine, and the pattern it replaces.

    python -m bench.memory [--n 500] [--variants abcef] [--allocators shipped] [--trace] [--out bench/out]

One fresh process per variant (and allocator) runs N invocations of the real blob handler
(``shared.recordings.door.handle_blob``: Azurite, a fresh token from the local identity endpoint, the real
Speech SDK against the speech emulator, transcript writes), each on its own blob (same audio), and records
after every invocation its RSS, threads and open descriptors, and whose memory it is (``bench.memory_probe``).
The variants (``bench.memory_variants``) run back to back against the same local stack:

- ``a`` as shipped: fresh credential and token per invocation, every SDK object disposed, ``gc.collect()``;
- ``b`` the seed's pattern (``bench/seed_pattern.py``): cached service singleton and credential, SDK objects
  never stopped, disconnected or released, handlers left connected, no ``gc.collect()``;
- ``c`` as shipped without the explicit ``gc.collect()`` (does collecting after each invocation earn its cost?);
- ``d`` (on request) the seed's pattern with Python's automatic collector off as well: no session is ever
  reclaimed, so the slope is what each un-disposed session holds (native threads, socket, buffers);
- ``e`` as shipped with word timings and a phrase list on, and its parts one by one (issue 27): ``p`` a
  phrase list of 4, ``l`` one of 500, ``w`` word timings, ``i`` language identification, ``s`` separate
  channels of a stereo clip (``--variants eplwis``);
- ``f`` as shipped through the fast engine (``SPEECH_ENGINE=fast``): a token, an azure-core pipeline and a
  streamed upload per invocation instead of a Speech session.

``--allocators`` runs each variant on each allocator (``shipped``, ``glibc``, ``arena2``, ``jemalloc``);
``--trace`` adds tracemalloc and object counts (slower; for finding, not for the figures). Prints a table
(slope over the last 80 %, total growth, and how much of it malloc has in use or holds free) and writes
``memory.json`` and ``memory.png`` to ``--out``. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
import uuid
from pathlib import Path

from bench import harness, memory_probe
from bench.memory_report import WARM_UP_FRACTION, key, plot, summarise, table
from bench.memory_variants import ALLOCATORS, DEFAULT_VARIANTS, VARIANTS, Variant, child_env, clip
from local_stack.stack import ready_stack

__all__ = ["DEFAULT_VARIANTS", "VARIANTS", "plot", "run", "summarise", "table"]

#: What the measured process records after every invocation (``bench.memory_probe.Recorder``).
COLUMNS = (*memory_probe.SAMPLED, "seconds", "status", "deliveries", "engine", "words", "languages")


def run(
    stack,
    *,
    n: int = 500,
    variants: str = DEFAULT_VARIANTS,
    allocators: tuple[str, ...] = ("shipped",),
    trace: bool = False,
    audio: Path = harness.SHORT_AUDIO,
    seconds: float | None = harness.SHORT_SECONDS,
    out: Path | None = harness.OUT,
    echo=print,
) -> dict:
    """Run each variant on each allocator in its own process against ``stack``; return (and save) the figures."""
    run_id = uuid.uuid4().hex[:8]
    measured_on = harness.machine()  # before the runs: the load average says how busy the machine was
    results: dict[str, dict] = {}
    for variant in variants:
        spec = VARIANTS[variant]
        prefix = f"bench-memory/{run_id}/{variant}"
        harness.upload_copies(stack, clip(spec, audio, seconds), prefix, n * len(allocators))
        for index, allocator in enumerate(allocators):
            echo(f"variant {variant} ({spec.label}) on {allocator}: {n} invocations ...")
            started = time.monotonic()
            args = ["--child", variant, "--allocator", allocator, "--prefix", prefix, "--first", str(index * n)]
            args += ["--n", str(n), *(["--trace"] if trace else [])]
            child = harness.run_child("bench.memory", args, timeout=300 + 60 * n, env=child_env(spec, allocator))
            wall = round(time.monotonic() - started)
            results[key(variant, allocator)] = {**child, **summarise(child["samples"]), "wall_seconds": wall}
            if out is not None:  # after each child: a run of hours keeps what it measured if a later one fails
                out.mkdir(parents=True, exist_ok=True)
                partial = _report(n, audio, seconds, measured_on, results, allocators)
                harness.write_json(out / "memory.partial.json", partial)
    report = _report(n, audio, seconds, measured_on, results, allocators)
    echo(table(report))
    for name, result in results.items():
        if result.get("trace"):
            echo(f"({name}) traced:\n" + memory_probe.describe(result["trace"]))
    if out is not None:
        harness.save_report(report, out / "memory.json", plot, echo)
        (out / "memory.partial.json").unlink(missing_ok=True)
    return report


def _report(
    n: int, audio: Path, seconds: float | None, measured_on: dict, results: dict, allocators: tuple[str, ...]
) -> dict:
    audio_name = audio.name if seconds is None else f"first {seconds:g} s of {audio.name}"
    return {
        "n": n,
        "audio": audio_name,
        "machine": measured_on,
        "variants": results,
        "allocators": {name: ALLOCATORS[name][0] for name in allocators},
        "load_average_after": harness.machine()["load_average_1_5_15"],
    }


def child(variant: str, allocator: str, prefix: str, first: int, n: int, trace: bool) -> dict:
    """The measured process: N invocations of the blob handler, what it holds after each."""
    import psutil

    import function_app  # noqa: F401 - what a worker has loaded before the first invocation
    from shared.platform import allocator as project_allocator
    from shared.recordings import door as blob_door

    spec = VARIANTS[variant]
    if allocator == "glibc":
        project_allocator.return_large_buffers_to_os = project_allocator.release_free_memory = lambda: False
    process = psutil.Process()
    container = harness.input_container()
    patch = contextlib.nullcontext()
    if spec.seed:
        from bench import seed_pattern

        patch = seed_pattern.installed()
    if spec.gc_off:
        gc.disable()
    tracer = memory_probe.Tracer() if trace else None
    recorder = memory_probe.Recorder(n, COLUMNS + (("traced",) if trace else ()))
    baseline = harness.rss_bytes()
    with patch as seed:
        for i in range(n):
            started = time.perf_counter()
            blob = harness.BlobRef(container, f"{prefix}/{first + i:05d}.wav")
            outcome, deliveries = deliver(blob_door, blob, spec.collect)
            seconds = time.perf_counter() - started
            traced = {"traced": tracer.traced_bytes()} if tracer is not None else {}
            row = {**memory_probe.sample(process), "seconds": seconds, "status": outcome.status}
            row["deliveries"] = deliveries
            recorder.add({**row, **returned(outcome), **traced})
            del outcome
            if tracer is not None and i == int(n * WARM_UP_FRACTION):
                tracer.mark(i + 1)
    report = tracer.report(n) if tracer is not None else None
    samples = recorder.rows()
    check(spec, samples, seed, n)
    return {
        "variant": variant,
        "allocator": allocator,
        "allocator_seen": memory_probe.allocator_name(),
        "rss_baseline_mib": round(baseline / 2**20, 1),
        "samples": samples,
        "trace": report,
    }


def deliver(blob_door, blob, collect: bool):
    """``handle_blob`` as the host calls it: a transient failure it raises is delivered again at once.

    A storage request that times out on a loaded machine (Azurite) is such a failure; the door records it
    and, on the host's last delivery, swallows it. So a run of hours goes on as an instance would.
    """
    from shared.errors import TranscriptionError
    from shared.platform.retry_policy import MAX_DELIVERIES

    delivery = 1
    while True:
        try:
            return blob_door.handle_blob(blob, collect_garbage=collect), delivery
        except TranscriptionError:
            if delivery >= MAX_DELIVERIES:
                raise
            delivery += 1


def check(spec: Variant, samples: list[dict], seed, n: int) -> None:
    """Fail the run if its settings did not reach the pipeline, or the seed pattern no longer serves it."""
    if spec.expects_words and not any(s["words"] for s in samples):
        raise RuntimeError(f"{spec.label}: no word timings came back: the options did not reach the session")
    if spec.expects_language and not any(s["languages"] for s in samples):
        raise RuntimeError(f"{spec.label}: no segment has a language: identification did not reach the session")
    transcribed = [s for s in samples if s["status"] == "transcribed"]
    if spec.expects_engine and any(s["engine"] != spec.expects_engine for s in transcribed):
        raise RuntimeError(
            f"{spec.label}: another engine than {spec.expects_engine} ran: SPEECH_ENGINE did not reach it"
        )
    if spec.seed and seed.requests != n:
        raise RuntimeError(
            f"the seed pattern served {seed.requests} of {n} invocations: the pipeline no longer "
            "calls credentials.fetch_token / SpeechSession; update bench/seed_pattern.py"
        )


def returned(outcome) -> dict[str, object]:
    """What the transcript says that only the settings give: words with times, segments with a language, and
    the engine that ran."""
    transcript = outcome.transcript
    segments = transcript.segments if transcript else ()
    return {
        "words": sum(len(s.words or ()) for s in segments),
        "languages": sum(s.language is not None for s in segments),
        "engine": transcript.engine if transcript else None,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="invocations per variant (default 500)")
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"which of {''.join(VARIANTS)} (default {DEFAULT_VARIANTS}; eplwis: (e) and its parts)",
    )
    parser.add_argument(
        "--allocators",
        default="shipped",
        help=f"comma-separated, each variant runs on each: {', '.join(ALLOCATORS)} (default shipped)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="tracemalloc and object counts by type, from the end of the warm-up to the end (slower)",
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
    parser.add_argument("--allocator", default="shipped", choices=sorted(ALLOCATORS), help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.child:
        harness.write_json(args.json, child(args.child, args.allocator, args.prefix, args.first, args.n, args.trace))
        return 0
    if args.plot:
        harness.replot(args.plot, table, plot)
        return 0
    allocators = tuple(a.strip() for a in args.allocators.split(",") if a.strip())
    if set(args.variants) - set(VARIANTS):
        parser.error(f"--variants takes letters from {''.join(VARIANTS)}")
    if not allocators or set(allocators) - set(ALLOCATORS):
        parser.error(f"--allocators takes names from {', '.join(ALLOCATORS)}")
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(
            stack,
            n=args.n,
            variants=args.variants,
            allocators=allocators,
            trace=args.trace,
            audio=args.audio,
            seconds=args.seconds or None,
            out=args.out,
            echo=lambda line: print(line, flush=True),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
