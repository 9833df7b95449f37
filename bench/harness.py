"""What the benchmarks share: the local stack, uploads, the binding stand-in, RSS, fits, the machine.

Each benchmark is a parent that starts (or is handed) the local stack and uploads the audio, and
children that run the measured invocations in fresh processes, so one variant's leftovers never
show up in another's figures. Children inherit the stack's app settings through the environment and
report JSON on a file the parent names.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
#: Benchmark output (JSON, PNG): git-ignored; docs/ holds the copies the documentation shows.
OUT = REPO / "bench" / "out"
#: Committed speech (11.9 s, one voice) whose first phrase is the audio of the memory and overhead runs.
SHORT_AUDIO = SAMPLES / "welcome.wav"
#: "Welcome to the serverless speech pipeline." and the pause after it.
SHORT_SECONDS = 2.8

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass(frozen=True)
class BlobRef:
    """What ``handle_blob`` reads from the trigger's ``BlobClient``: its container and blob names.

    The handler does every storage call through its own per-invocation client and uses the binding
    only for these two names, so the benchmarks pass them without building the blob extension's client
    (that is the worker's cost, the same for every variant).
    """

    container_name: str
    blob_name: str


def upload_copies(stack, data: bytes, prefix: str, count: int) -> list[str]:
    """Upload ``count`` copies of ``data`` as ``<prefix>/<i>.wav``; a new name per invocation.

    The handler transcribes each blob version once (ETag idempotency), so a run of N invocations needs
    N blobs. Uploads go through the operator's client, never the app's, and happen before the run.
    """
    container = input_container()
    names = [f"{prefix}/{i:05d}.wav" for i in range(count)]
    with stack.blob_service() as service:
        client = service.get_container_client(container)
        for name in names:
            client.upload_blob(name, data, overwrite=True)
    return names


def wav_clip(path: Path, seconds: float | None) -> bytes:
    """The first ``seconds`` of a PCM WAV, as WAV bytes (the whole file when ``seconds`` is None)."""
    if seconds is None:
        return path.read_bytes()
    with wave.open(str(path), "rb") as source:
        params = source.getparams()
        frames = source.readframes(int(seconds * source.getframerate()))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as target:
        target.setparams(params)
        target.writeframes(frames)
    return buffer.getvalue()


def input_container() -> str:
    """The input container the stack's settings name (the app's default when none is set)."""
    from shared.settings import INPUT_CONTAINER, Settings

    return os.environ.get(INPUT_CONTAINER, Settings.input_container)


def run_child(module: str, args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> dict:
    """Run ``python -m module args --json FILE`` in a fresh process; return what it wrote to FILE.

    ``env`` is added to this process's environment (app settings, and variables such as ``MALLOC_*``
    that only take effect when a process starts).
    """
    with tempfile.TemporaryDirectory(prefix="stt-bench-") as tmp:
        result_file = Path(tmp) / "result.json"
        command = [sys.executable, "-m", module, *args, "--json", str(result_file)]
        completed = subprocess.run(
            command,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if completed.returncode != 0 or not result_file.exists():
            tail = "\n".join(completed.stdout.splitlines()[-40:])
            raise RuntimeError(f"{' '.join(command[2:])} failed ({completed.returncode}):\n{tail}")
        return json.loads(result_file.read_text())


def write_json(path: str | Path, data: object) -> None:
    Path(path).write_text(json.dumps(data, indent=1))


def save_report(
    report: dict, path: Path, plot: Callable[[dict, Path], None] | None = None, echo: Callable[[str], None] = print
) -> None:
    """Write a benchmark's report as JSON and, given a ``plot(report, png)``, its plot beside it.

    The plot goes where ``replot`` redraws it from the JSON alone: the same name, ``.png``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, report)
    written = [path]
    if plot is not None:
        plot(report, path.with_suffix(".png"))
        written.append(path.with_suffix(".png"))
    echo(f"wrote {' and '.join(str(p) for p in written)}")


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def peak_rss_bytes() -> int:
    """This process's peak resident set so far: ``VmHWM``, the kernel's high-water mark of its memory.

    Not ``getrusage().ru_maxrss``: on Linux a process started by ``subprocess`` (fork or vfork, then
    exec) inherits in ``ru_maxrss`` the high-water mark of the memory it was forked from, i.e. its
    parent's. Measured: a child whose own peak was 94 MiB reported 110.6 MiB, its parent's peak while
    uploading a 55 MiB recording. ``VmHWM`` belongs to the memory the child built after exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource  # not Linux: the closest figure there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def slope_per_step(values: Sequence[float], *, skip_fraction: float = 0.2) -> float:
    """Least-squares slope of ``values`` against their index, over all but the first ``skip_fraction``.

    The first invocations load modules, grow allocator arenas and warm caches; what matters for a
    long-lived instance is whether memory keeps growing after that.
    """
    start = int(len(values) * skip_fraction)
    ys = list(values[start:])
    if len(ys) < 2:
        return 0.0
    xs = list(range(start, start + len(ys)))
    return statistics.linear_regression(xs, ys).slope


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


def machine() -> dict[str, object]:
    """Where the figures were measured: CPU, cores, memory, Python and the SDK versions."""
    import psutil

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in (
        "azure-cognitiveservices-speech",
        "azure-identity",
        "azure-storage-blob",
        "azure-functions",
        "azurefunctions-extensions-bindings-blob",
        "av",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {
        "cpu": cpu,
        "logical_cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "speed_probe_ms": speed_probe_ms(),
        "packages": versions,
    }


def speed_probe_ms(repeats: int = 7) -> float:
    """Median ms of a fixed pure-Python loop: how fast this machine runs Python right now.

    A shared VM's speed drifts (on this project's VM the same import of the same code had a median of
    368 ms in one session and 191 ms in the next). Times from two runs compare only if their probes are
    alike.
    """
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        sum(i * i for i in range(200_000))
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def replot(saved: Path, table: Callable[[dict], str], plot: Callable[[dict, Path], None]) -> None:
    """``--plot JSON``: print the table of a saved report and redraw its plot next to it."""
    report = json.loads(Path(saved).read_text())
    print(table(report))
    plot(report, Path(saved).with_suffix(".png"))
    print(f"wrote {Path(saved).with_suffix('.png')}")
