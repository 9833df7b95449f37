"""A burst against a Speech quota, for real: how long 120 recordings take against the ideal, and at what cost.

    python -m bench.burst [--recordings 120] [--quotas 2 4] [--parallel 8] [--out bench/out]

For each quota Q, a fresh emulator refuses sessions past Q (``LocalStack.quota_emulator``), the
recordings (each the first phrase of ``samples/welcome.wav``) land at once, and the host's delivery rules
(``local_stack.functions_host.deliveries``) deliver their events ``--parallel`` at a time, redelivering a failed
one at once up to ``MAX_DELIVERIES``. The ideal is the total session time the emulator logged for the sessions that
transcribed, divided by Q: what a scheduler that kept every slot busy, with no retries, would take. The
ratio of the burst's wall time to it says what the in-invocation backoff costs (the goal: at most 1.5);
deliveries per recording say how often the host had to come back.

Prints a table and writes ``burst.json`` to ``--out``. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import harness
from local_stack.functions_host.deliveries import deliver_all
from local_stack.stack import ready_stack

_SESSION = re.compile(r"duration=([0-9.]+)s .*outcome=ok")


def one_quota(stack, quota: int, recordings: int, parallel: int, log_dir: Path) -> dict:
    """One burst against quota ``quota``: its figures."""
    import os

    from shared.recordings.door import handle_blob
    from shared.recordings.pending import counts, scan
    from shared.settings import Settings
    from speech_emulator.process import emulator_stats

    audio = harness.wav_clip(harness.SHORT_AUDIO, harness.SHORT_SECONDS)
    names = harness.upload_copies(stack, audio, f"bench-burst-{uuid.uuid4().hex[:8]}", recordings)
    log_path = log_dir / f"emulator-quota-{quota}.log"
    with stack.quota_emulator(quota, log_path) as url:
        os.environ["SPEECH_ENDPOINT"] = url
        try:
            started = time.monotonic()
            delivered = deliver_all(
                names, lambda name: handle_blob(harness.BlobRef(harness.input_container(), name)), parallel=parallel
            )
            wall = time.monotonic() - started
            stats = emulator_stats(url)
        finally:
            os.environ["SPEECH_ENDPOINT"] = stack.speech_endpoint
    sessions = [float(m.group(1)) for m in map(_SESSION.search, log_path.read_text().splitlines()) if m]
    ideal = sum(sessions) / quota
    left = counts(scan(Settings.from_env(), names[0].split("/")[0] + "/"))
    per_recording = [delivered.deliveries[name] for name in names]
    return {
        "quota": quota,
        "recordings": recordings,
        "parallel": parallel,
        "wall_seconds": round(wall, 1),
        "ideal_seconds": round(ideal, 1),
        "ratio": round(wall / ideal, 2) if ideal else None,
        "sessions_ok": len(sessions),
        "mean_session_seconds": round(statistics.mean(sessions), 2),
        "peak_sessions": stats["peak"],
        "refused_upgrades": stats["refused_quota"],
        "deliveries_mean": round(statistics.mean(per_recording), 2),
        "deliveries_max": max(per_recording),
        "poisoned": len(delivered.poisoned),
        "states": left,
    }


def run(stack, quotas: tuple[int, ...], recordings: int, parallel: int, out: Path | None, echo=print) -> dict:
    rows = []
    with tempfile.TemporaryDirectory(prefix="stt-burst-") as logs:
        for quota in quotas:
            rows.append(one_quota(stack, quota, recordings, parallel, Path(logs)))
            echo(f"quota {quota}: {rows[-1]['wall_seconds']} s against an ideal of {rows[-1]['ideal_seconds']} s")
    report = {"machine": harness.machine(), "rows": rows}
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "burst.json", echo=echo)
    return report


def table(report: dict) -> str:
    return harness.markdown_table(
        [
            "quota",
            "recordings",
            "wall (s)",
            "ideal (s)",
            "ratio",
            "peak sessions",
            "refused upgrades",
            "deliveries mean / max",
            "poisoned",
            "transcribed",
        ],
        [
            [
                r["quota"],
                r["recordings"],
                r["wall_seconds"],
                r["ideal_seconds"],
                r["ratio"],
                r["peak_sessions"],
                r["refused_upgrades"],
                f"{r['deliveries_mean']} / {r['deliveries_max']}",
                r["poisoned"],
                r["states"]["transcribed"],
            ]
            for r in report["rows"]
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=120)
    parser.add_argument("--quotas", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--parallel", type=int, default=8, help="invocations at once (the host's concurrency)")
    parser.add_argument("--out", type=Path, default=harness.OUT)
    args = parser.parse_args(argv)
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(
            stack,
            tuple(args.quotas),
            args.recordings,
            args.parallel,
            args.out,
            echo=lambda line: print(line, flush=True),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
