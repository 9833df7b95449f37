"""Memory of several blob invocations at once in one worker process: 1, 4 and 8 concurrent sessions.

    python -m bench.concurrency [--levels 1 4 8] [--seconds 120] [--out bench/out]

The Python worker runs sync functions on a thread pool, so the invocations of one instance share one
process: an instance's memory is its idle footprint plus what each concurrent session adds. For each
level N, a fresh process (what a worker has loaded: ``import function_app``) runs N invocations of the
real blob handler at the same moment, each on its own recording of ``--seconds`` of speech, against the
local stack, and reports its resident memory before and its peak (``VmHWM``). The per-session
increment, ``(peak(N) - peak(1)) / (N - 1)``, is what the README's sizing uses: instance memory must
hold the idle process plus ``maxDegreeOfParallelism`` sessions.

Prints a table and writes ``concurrency.json`` to ``--out``. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import harness
from local_stack.stack import ready_stack

#: The speech each invocation transcribes, looped to ``--seconds``.
SPEECH = harness.SAMPLES / "help-desk-call.wav"
DEFAULT_LEVELS = (1, 4, 8)


def looped_wav(seconds: float) -> bytes:
    """``SPEECH`` repeated until it lasts ``seconds`` (a WAV in memory)."""
    import io
    import wave

    with wave.open(str(SPEECH), "rb") as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    repeats = int(seconds * params.framerate / max(1, params.nframes)) + 1
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as target:
        target.setparams(params)
        target.writeframes((frames * repeats)[: int(seconds * params.framerate) * params.sampwidth])
    return buffer.getvalue()


def child(names: list[str]) -> dict:
    """The measured process: ``len(names)`` blob invocations started together; its memory."""
    import function_app  # noqa: F401 - what a worker has loaded before the first invocation
    from shared.recordings.door import handle_blob

    before = harness.rss_bytes()
    start, statuses = threading.Barrier(len(names)), []

    def invoke(name: str) -> None:
        start.wait()
        statuses.append(handle_blob(harness.BlobRef(harness.input_container(), name)).status)

    started = time.monotonic()
    threads = [threading.Thread(target=invoke, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "sessions": len(names),
        "statuses": statuses,
        "seconds": round(time.monotonic() - started, 1),
        "rss_before_mib": round(before / 2**20, 1),
        "peak_rss_mib": round(harness.peak_rss_bytes() / 2**20, 1),
        "rss_after_mib": round(harness.rss_bytes() / 2**20, 1),
    }


def run(stack, levels: tuple[int, ...], seconds: float, out: Path | None, echo=print) -> dict:
    """Measure every level in a fresh process; the report (also saved to ``out``)."""
    audio = looped_wav(seconds) if seconds else harness.wav_clip(SPEECH, None)
    rows = []
    for level in levels:
        names = harness.upload_copies(stack, audio, f"bench-concurrency-{uuid.uuid4().hex[:8]}", level)
        rows.append(harness.run_child("bench.concurrency", ["--child", *names], timeout=600 + 60 * level))
        echo(f"{level} at once: peak {rows[-1]['peak_rss_mib']} MiB in {rows[-1]['seconds']} s")
    single = rows[0]["peak_rss_mib"]
    for row in rows:
        extra = row["sessions"] - rows[0]["sessions"]
        row["per_extra_session_mib"] = round((row["peak_rss_mib"] - single) / extra, 1) if extra else None
    report = {"machine": harness.machine(), "audio_seconds": seconds, "rows": rows}
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "concurrency.json", echo=echo)
    return report


def table(report: dict) -> str:
    return harness.markdown_table(
        ["sessions at once", "RSS before (MiB)", "peak RSS (MiB)", "per extra session (MiB)", "wall (s)"],
        [
            [r["sessions"], r["rss_before_mib"], r["peak_rss_mib"], r["per_extra_session_mib"] or "", r["seconds"]]
            for r in report["rows"]
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=list(DEFAULT_LEVELS))
    parser.add_argument("--seconds", type=float, default=120.0, help="audio per invocation (0: the sample as is)")
    parser.add_argument("--out", type=Path, default=harness.OUT)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.write_json(args.json, child(args.child))
        return 0
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(stack, tuple(args.levels), args.seconds, args.out, echo=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
