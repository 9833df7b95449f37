"""What per-invocation freshness costs: medians over many runs of each piece this project does fresh.

    python -m bench.overhead [--runs 200] [--out bench/out]

Measured in one fresh process against the local stack (identity endpoint, Azurite, speech emulator):

- ``token_mi``: a Speech token with a new ``ManagedIdentityCredential``, closed after
  (``shared.platform.credentials.fetch_token``);
- ``token_dac``: the same with a new ``DefaultAzureCredential`` (the seed's per-invocation token as written);
- ``storage_token_mi``: the storage token the invocation's own blob client gets the same way;
- ``sdk_setup_teardown``: every Speech SDK object of a session created and disposed
  (``SpeechSession`` entered and closed without a session: config, pull stream, audio config, transcriber,
  five handlers connected then disconnected, released on the helper thread);
- ``gc_after_invocation``: ``gc.collect()`` right after a real blob invocation (what collecting after each
  invocation costs), with the import-time objects frozen as ``function_app`` leaves them (``gc.freeze()``);
- ``gc_unfrozen``: the same after ``gc.unfreeze()``, i.e. what the collection would cost without the freeze;
- ``session_close``: ``SpeechSession.close()`` of a finished session, timed inside those real invocations;
- ``release_free_memory``: ``shared.platform.allocator.release_free_memory()`` (``malloc_trim(0)``) at the end
  of each of those invocations' transcriptions, what giving the arenas' free pages back costs.

Prints a table and writes ``overhead.json`` to ``--out``. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from bench import harness
from local_stack.stack import ready_stack

STORAGE_SCOPE = "https://storage.azure.com/.default"

PIECES = {
    "token_mi": "Speech token, fresh ManagedIdentityCredential (shipped)",
    "token_dac": "Speech token, fresh DefaultAzureCredential (the seed's per-invocation token)",
    "storage_token_mi": "storage token, fresh ManagedIdentityCredential (shipped)",
    "sdk_setup_teardown": "Speech SDK objects created + disposed",
    "session_close": "close() of a finished session (in real invocations)",
    "release_free_memory": "malloc_trim(0) at the end of a real invocation's transcription",
    "gc_after_invocation": "gc.collect() after a real invocation",
    "gc_unfrozen": "the same without function_app's gc.freeze() (not shipped)",
}
#: The pieces an invocation of (a) pays for freshness and disposal, on top of its real work.
SHIPPED = (
    "token_mi",
    "storage_token_mi",
    "sdk_setup_teardown",
    "session_close",
    "release_free_memory",
    "gc_after_invocation",
)


def run(stack, *, runs: int = 200, invocations: int | None = None, out: Path | None = harness.OUT, echo=print) -> dict:
    """Upload the audio for the real invocations, measure in a child process, print and save."""
    invocations = runs if invocations is None else invocations
    prefix = f"bench-overhead/{uuid.uuid4().hex[:8]}"
    harness.upload_copies(stack, harness.wav_clip(harness.SHORT_AUDIO, harness.SHORT_SECONDS), prefix, 2 * invocations)
    echo(f"overhead: {runs} runs of each piece, 2 x {invocations} real invocations ...")
    child = harness.run_child(
        "bench.overhead",
        ["--child", "--runs", str(runs), "--invocations", str(invocations), "--prefix", prefix],
        timeout=600 + 30 * (runs + 2 * invocations),
    )
    report = {
        "runs": runs,
        "invocations": invocations,
        "machine": harness.machine(),
        "pieces": summarise(child["samples"]),
        "frozen_objects": child["frozen_objects"],
    }
    shipped = sum(report["pieces"][p]["median_ms"] for p in SHIPPED)
    report["shipped_total_median_ms"] = round(shipped, 2)
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "overhead.json", echo=echo)
    return report


def summarise(samples: dict[str, list[float]]) -> dict[str, dict]:
    result = {}
    for piece, seconds in samples.items():
        ms = sorted(s * 1000 for s in seconds)
        result[piece] = {
            "n": len(ms),
            "median_ms": round(statistics.median(ms), 2),
            "p90_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.9))], 2),
            "min_ms": round(ms[0], 2),
            "max_ms": round(ms[-1], 2),
        }
    return result


def table(report: dict) -> str:
    rows = [
        [PIECES[p], s["n"], f"{s['median_ms']:.1f}", f"{s['p90_ms']:.1f}", f"{s['min_ms']:.1f}"]
        for p, s in report["pieces"].items()
    ]
    rows.append(["**sum of the shipped pieces (a)**", "", f"**{report['shipped_total_median_ms']:.1f}**", "", ""])
    return (
        harness.markdown_table(["piece", "runs", "median ms", "p90 ms", "min ms"], rows)
        + f"\n\nobjects frozen at import (function_app's gc.freeze()): {report['frozen_objects']}"
    )


def child(runs: int, invocations: int, prefix: str) -> dict:
    """The measured process: each piece timed ``runs`` times, then real invocations with a timed GC."""
    import azure.cognitiveservices.speech  # noqa: F401 - loaded once per instance, not per invocation
    from azure.identity import DefaultAzureCredential

    import function_app  # noqa: F401 - what a worker has loaded before the first invocation
    from shared.platform.credentials import SPEECH_SCOPE, fetch_token
    from shared.settings import Settings
    from shared.speech.session import SpeechSession

    settings = Settings.from_env()
    frozen_objects = gc.get_freeze_count()  # what function_app's gc.freeze() left out of collections
    samples: dict[str, list[float]] = {piece: [] for piece in PIECES}

    def timed(piece: str, action) -> None:
        started = time.perf_counter()
        action()
        samples[piece].append(time.perf_counter() - started)

    def token_dac() -> None:
        with DefaultAzureCredential() as credential:
            credential.get_token(SPEECH_SCOPE)

    token = fetch_token(settings)
    # A session that is never started reads nothing: this stands in for the decoder's PCM reader.
    silent = SimpleNamespace(sample_rate=16000, read=lambda n: b"", seconds_read=0.0, close=lambda: None)

    def sdk_setup_teardown() -> None:
        with SpeechSession(settings, token, silent):
            pass

    for _ in range(3):  # first calls pay one-off imports and connection set-up
        fetch_token(settings), token_dac(), sdk_setup_teardown()
    for _ in range(runs):  # interleaved, so a slow moment of the machine hits every piece alike
        timed("token_mi", lambda: fetch_token(settings))
        timed("token_dac", token_dac)
        timed("storage_token_mi", lambda: fetch_token(settings, STORAGE_SCOPE))
        timed("sdk_setup_teardown", sdk_setup_teardown)

    real_invocations(timed, invocations, prefix)
    return {"samples": samples, "frozen_objects": frozen_objects}


def real_invocations(timed, invocations: int, prefix: str) -> None:
    """2 x ``invocations`` real blob invocations, the second half unfrozen: each one's session close, trim and
    collection timed."""
    from shared.platform import allocator
    from shared.recordings import door as blob_door
    from shared.speech.session import SpeechSession

    original_close, original_trim = SpeechSession.close, allocator.release_free_memory

    def timed_close(self) -> None:
        timed("session_close", lambda: original_close(self))

    SpeechSession.close = timed_close
    allocator.release_free_memory = lambda: timed("release_free_memory", original_trim)
    container = harness.input_container()
    try:
        for i in range(2 * invocations):
            if i == invocations:
                gc.unfreeze()  # the second half: every object in every collection, as without function_app's freeze
            outcome = blob_door.handle_blob(harness.BlobRef(container, f"{prefix}/{i:05d}.wav"), collect_garbage=False)
            if outcome.status != "transcribed":
                raise RuntimeError(f"invocation {i}: {outcome}")
            timed("gc_after_invocation" if i < invocations else "gc_unfrozen", gc.collect)
    finally:
        SpeechSession.close = original_close
        allocator.release_free_memory = original_trim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs of each isolated piece (default 200)")
    parser.add_argument(
        "--invocations", type=int, help="real invocations for each GC figure, frozen and not (default: --runs)"
    )
    parser.add_argument("--out", type=Path, default=harness.OUT, help="where overhead.json goes")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.write_json(args.json, child(args.runs, args.invocations, args.prefix))
        return 0
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(
            stack, runs=args.runs, invocations=args.invocations, out=args.out, echo=lambda line: print(line, flush=True)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
