"""Peak RSS of one blob invocation against the length of the recording: streaming keeps it flat.

    python -m bench.peak_rss                          # wav:1, wav:5 and wav:30 (minutes), by concatenation
    python -m bench.peak_rss --make wav:1 --make wav:120
    python -m bench.peak_rss recording.m4a call.mp3   # any files; each gets its own row
    python -m bench.peak_rss --make wav:30 --engines realtime,fast   # one file through each engine

Each file is uploaded to the local stack's input container and transcribed by the blob handler in a
fresh process, which reports its peak resident set (``VmHWM``, the kernel's high-water mark: the
figure an instance's memory limit is checked against; see ``bench.harness.peak_rss_bytes``), its RSS
before the invocation, how long the invocation took and what the blob reader fetched. The ratio column
compares each file with the first file of the same format and engine (list the short one first). A second
fresh process then only decodes the blob through the same reader (no Speech session): decode speed as a
multiple of real time, bytes fetched per byte of blob, and the peak of decoding alone. ``--engines`` runs
each file through each engine named (``SPEECH_ENGINE``), a row each: wall time and peak side by side.

``--make FORMAT:MINUTES`` builds (and caches in ``--out``) a recording of that length with a maker of
``bench.recordings.MAKERS``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import harness
from bench.recordings import MAKERS, made_file
from local_stack.stack import ready_stack

DEFAULT_MAKES = ("wav:1", "wav:5", "wav:30")


def run(
    stack,
    files: list[Path],
    *,
    settings: dict[str, str] | None = None,
    engines: tuple[str, ...] = (),
    out: Path | None = harness.OUT,
    echo=print,
) -> dict:
    """Transcribe each file in its own process (``settings`` in its environment), once per engine in
    ``engines`` (none: as the settings say); print and save a table."""
    run_id = uuid.uuid4().hex[:8]
    rows = []
    for path in files:
        name = f"bench-peak/{run_id}/{path.name}"
        with stack.blob_service() as service, path.open("rb") as data:
            service.get_container_client(harness.input_container()).upload_blob(name, data, overwrite=True)
        decoded = None
        for engine in engines or (None,):
            env = {**(settings or {}), **({"SPEECH_ENGINE": engine} if engine else {})}
            through = f", {engine}" if engine else ""
            echo(f"{path.name} ({path.stat().st_size / 2**20:.1f} MiB){through}: transcribing ...")
            child = harness.run_child("bench.peak_rss", ["--child", name, "--again"], timeout=4 * 3600, env=env)
            if decoded is None:
                echo(f"{path.name}: decoding only ...")
                decoded = harness.run_child("bench.peak_rss", ["--decode-child", name], timeout=4 * 3600, env=env)
            rows.append({"file": path.name, "bytes": path.stat().st_size, **child, "decode": decoded})
    first: dict[tuple[str, str], float] = {}
    for row in rows:  # each format and engine against its own first (shortest) file: 2 h mp3 / 1 min mp3
        reference = first.setdefault((Path(row["file"]).suffix, row["engine"]), row["peak_rss_mib"])
        row["ratio_to_first"] = round(row["peak_rss_mib"] / reference, 3)
    report = {"machine": harness.machine(), "settings": settings or {}, "rows": rows}
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "peak_rss.json", plot, echo)
    return report


def table(report: dict) -> str:
    rows = [
        [
            r["file"],
            r.get("engine", "realtime"),
            f"{r['bytes'] / 2**20:.1f}",
            f"{r['audio_seconds'] / 60:.1f}",
            f"{r['rss_before_mib']:.1f}",
            f"{r['peak_rss_mib']:.1f}",
            f"{r['peak_rss_mib'] - r['rss_before_mib']:.1f}",
            f"{r['ratio_to_first']:.3f}",
            f"{r['seconds']:.0f}",
            f"{r['fetched_ratio']:.3f} ({r['requests']})",
            f"{r['decode']['x_real_time']:.0f}×",
            f"{r['decode']['peak_rss_mib']:.1f}",
            r["status"],
        ]
        for r in report["rows"]
    ]
    header = [
        "file",
        "engine",
        "MiB",
        "audio min",
        "RSS before MiB",
        "peak RSS MiB",
        "peak − before MiB",
        "peak / first of its format",
        "invocation s",
        "fetched / size (requests)",
        "decode speed",
        "decode-only peak MiB",
        "status",
    ]
    return harness.markdown_table(header, rows)


def plot(report: dict, path: Path) -> None:
    """RSS during each invocation against the share of it done, one line per file: flat means streaming."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    for i, row in enumerate(r for r in report["rows"] if r.get("rss_curve_mib")):
        curve = row["rss_curve_mib"]
        xs = [100 * k / max(1, len(curve) - 1) for k in range(len(curve))]
        style = "-" if row["file"].endswith(".wav") else "--" if row["file"].endswith(".mp3") else ":"
        ax.plot(
            xs,
            curve,
            style,
            linewidth=1.3,
            color=f"C{i}",
            label=f"{row['file']}, {row.get('engine', 'realtime')} ({row['audio_seconds'] / 60:.0f} min): "
            f"peak {row['peak_rss_mib']:.1f} MiB",
        )
    ax.set_xlabel("share of the invocation (%)")
    ax.set_ylabel("RSS (MiB), sampled every 50 ms")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("One blob invocation per file, each in a fresh process: resident memory while it runs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _count_blob_reads(blob_door) -> list:
    """Wrap the blob door's ``BlobReader`` so the child can report what the invocation fetched."""
    readers: list = []
    base = blob_door.BlobReader

    class CountedBlobReader(base):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            readers.append(self)

    blob_door.BlobReader = CountedBlobReader
    return readers


def child(blob_name: str, again: bool = False) -> dict:
    """The measured process: one invocation of the blob handler; its peak RSS. ``again``: the blob's earlier
    transcript is removed first, so the same blob is transcribed once per engine."""
    import function_app  # noqa: F401 - what a worker has loaded before the first invocation
    from shared.errors import TranscriptionError
    from shared.recordings import door as blob_door

    readers = _count_blob_reads(blob_door)
    if again:
        _forget(blob_name)
    before = harness.rss_bytes()
    sampled = [before]
    stop = threading.Event()

    def sample() -> None:  # a cross-check of the high-water mark, and the curve for anyone who wants it
        while not stop.wait(0.05):
            sampled.append(harness.rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        outcome = blob_door.handle_blob(harness.BlobRef(harness.input_container(), blob_name))
        status = outcome.status if outcome.error is None else f"failed: {outcome.error.code}"
        transcript = outcome.transcript
    except TranscriptionError as error:  # transient: the host would retry; here it is the row's result
        status, transcript = f"failed: {error.code}: {error.message}", None
    seconds = time.monotonic() - started
    stop.set()
    sampler.join()
    step = max(1, len(sampled) // 400)  # the curve for the plot: at most ~400 points, each its window's max
    curve = [round(max(sampled[i : i + step]) / 2**20, 1) for i in range(0, len(sampled), step)]
    return {
        "status": status,
        "engine": transcript.engine if transcript else "?",
        "audio_seconds": transcript.audio.duration_seconds if transcript else 0.0,
        "segments": len(transcript.segments) if transcript else 0,
        "seconds": round(seconds, 1),
        "rss_before_mib": round(before / 2**20, 1),
        "peak_rss_mib": round(harness.peak_rss_bytes() / 2**20, 1),
        "sampled_max_mib": round(max(sampled) / 2**20, 1),
        "rss_curve_mib": curve,
        "requests": sum(r.requests for r in readers),
        "fetched_ratio": round(sum(r.bytes_fetched for r in readers) / max(1, readers[0].size), 4) if readers else 0,
    }


def _forget(blob_name: str) -> None:
    """Delete the blob's transcript, so the blob door transcribes it again (it skips a version it has done)."""
    from shared.platform import storage
    from shared.recordings.results import result_names
    from shared.settings import Settings

    settings = Settings.from_env()
    with storage.connect(settings) as clients:
        out = clients.blobs.get_container_client(settings.output_container)
        for name in result_names(blob_name).values():
            storage.delete_if_exists(out, name)


def decode_child(blob_name: str) -> dict:
    """Decode only (no Speech session) through the same blob reader: speed, bytes fetched, peak RSS."""
    import function_app  # noqa: F401 - the same starting point as the transcription child
    from shared.audio import decode_all
    from shared.platform import allocator, storage
    from shared.platform.blob_reader import BlobReader
    from shared.settings import Settings

    allocator.return_large_buffers_to_os()  # as transcribe_audio does
    settings = Settings.from_env()
    before = harness.rss_bytes()
    with storage.connect(settings) as clients:
        blob = clients.blobs.get_blob_client(harness.input_container(), blob_name)
        props = blob.get_blob_properties()
        reader = BlobReader(blob, etag=props.etag, size=props.size)
        started = time.monotonic()
        decoded = decode_all(reader, channel_mode=settings.channel_mode)
        seconds = time.monotonic() - started
    return {
        "audio_seconds": round(decoded.seconds, 1),
        "seconds": round(seconds, 2),
        "x_real_time": round(decoded.seconds / seconds, 1),
        "fetched_ratio": round(reader.bytes_fetched / props.size, 4),
        "requests": reader.requests,
        "rss_before_mib": round(before / 2**20, 1),
        "peak_rss_mib": round(harness.peak_rss_bytes() / 2**20, 1),
        "found": f"{decoded.found.container}/{decoded.found.codec}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peak_rss", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="recordings to measure (any format the app accepts)")
    parser.add_argument(
        "--make",
        action="append",
        metavar="FORMAT:MINUTES",
        help=f"generate a recording (formats: {', '.join(MAKERS)}); default when no files: {' '.join(DEFAULT_MAKES)}",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an app setting (environment variable) for the measured processes, e.g. SPEECH_SEND_FAST=false",
    )
    parser.add_argument(
        "--engines", default="", metavar="E1,E2", help="run each file through each engine (realtime, fast), a row each"
    )
    parser.add_argument("--out", type=Path, default=harness.OUT, help="where peak_rss.json and generated audio go")
    parser.add_argument("--child", metavar="BLOB", help=argparse.SUPPRESS)
    parser.add_argument("--again", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plot", type=Path, metavar="JSON", help="redraw the table and plot of a saved peak_rss.json")
    parser.add_argument("--decode-child", metavar="BLOB", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.setting if "=" in item)
    if len(settings) != len(args.setting):
        parser.error("--setting takes NAME=VALUE")
    if args.child:
        harness.write_json(args.json, child(args.child, args.again))
        return 0
    if args.decode_child:
        harness.write_json(args.json, decode_child(args.decode_child))
        return 0
    if args.plot:
        harness.replot(args.plot, table, plot)
        return 0
    makes = args.make or ([] if args.files else list(DEFAULT_MAKES))
    try:
        files = [made_file(spec, args.out / "audio") for spec in makes] + list(args.files)
    except ValueError as exc:
        parser.error(str(exc))
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
        run(stack, files, settings=settings, engines=engines, out=args.out, echo=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
