"""Whose memory grows: Python objects, the native heap in use, or memory the allocator keeps after a free.

RSS alone cannot tell them apart, and each has another fix: a Python object kept alive is ours to drop;
native memory in use that grows is a leak in the SDK (or in how we drive it); memory the allocator holds
free in its arenas is neither, and only an allocator setting returns it. So after every invocation
``sample()`` records, beside RSS, the anonymous and file-backed parts of it, Python's allocated blocks and
the allocator's own account (glibc ``mallinfo2()``: in use, free inside its arenas; jemalloc: allocated,
resident). ``Tracer`` (``--trace``) adds what only a slower run can afford: ``tracemalloc`` snapshots and
``gc.get_objects()`` counts by type when the warm-up ends and at the end, and their difference.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import sys
import tempfile
import tracemalloc
from array import array
from collections import Counter
from pathlib import Path

from bench.harness import REPO

#: Frames kept per traced allocation: enough to see which of our calls (or the SDK wrapper's) made it.
TRACE_FRAMES = 12
#: How many of the largest growths a trace reports.
TOP = 12


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None)


def allocator_name() -> str:
    """``jemalloc`` when it is preloaded, ``glibc`` when glibc's malloc is the process's, else ``other``."""
    if "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        return "jemalloc"
    return "glibc" if hasattr(_libc(), "mallinfo2") else "other"


def heap_bytes() -> tuple[int | None, int | None]:
    """The allocator's own account: (bytes in use, bytes it holds free); ``(None, None)`` if it cannot say.

    glibc (all arenas together): ``uordblks`` in use, ``fordblks`` free inside the arenas (mapped chunks,
    ``hblkhd``, count as in use: they are unmapped on free). jemalloc: ``stats.allocated``, and
    ``stats.resident`` minus it (its free pages not yet purged, and its metadata).
    """
    kind = allocator_name()
    if kind == "glibc":
        mallinfo2 = _libc().mallinfo2
        mallinfo2.restype = _MallInfo2
        info = mallinfo2()
        return info.uordblks + info.hblkhd, info.fordblks
    if kind == "jemalloc":
        allocated, resident = _jemalloc_stat(b"stats.allocated"), _jemalloc_stat(b"stats.resident")
        return allocated, None if allocated is None or resident is None else resident - allocated
    return None, None


def _jemalloc_stat(name: bytes) -> int | None:
    mallctl = getattr(_libc(), "mallctl", None)
    if mallctl is None:
        return None
    epoch, size = ctypes.c_uint64(1), ctypes.c_size_t(8)
    mallctl(b"epoch", None, None, ctypes.byref(epoch), size)  # refresh the statistics
    value, size = ctypes.c_size_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_size_t))
    return value.value if mallctl(name, ctypes.byref(value), ctypes.byref(size), None, 0) == 0 else None


def rss_parts() -> dict[str, int]:
    """``RssAnon`` and ``RssFile`` (bytes): heap and stacks vs pages of mapped files (the SDK's library)."""
    parts = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            parts[key.lower().replace("rss", "rss_")] = int(value.split()[0]) * 1024
    return parts


#: The figures ``sample()`` gives.
SAMPLED = ("rss", "rss_anon", "rss_file", "threads", "fds", "py_blocks", "heap_in_use", "heap_free")


def sample(process) -> dict[str, int | None]:
    """The figures recorded after every invocation (cheap: no walk of the heap or of the objects)."""
    in_use, free = heap_bytes()
    return {
        "rss": process.memory_info().rss,
        **rss_parts(),
        "threads": process.num_threads(),
        "fds": process.num_fds(),
        "py_blocks": sys.getallocatedblocks(),
        "heap_in_use": in_use,
        "heap_free": free,
    }


class Recorder:
    """N rows of integer figures in arrays allocated before the first invocation, so recording adds nothing.

    A list that gains a dict per invocation grows by what it measures, by as much as the slopes this run must
    tell apart. ``None`` is kept as -1; ``seconds`` as microseconds; a column of ``CODES`` as its value's index.
    """

    #: The columns that hold one of a few strings.
    CODES = {
        "status": ("transcribed", "submitted", "skipped", "failed", "removed"),
        "engine": ("realtime", "fast", "batch"),
    }

    def __init__(self, n: int, names: tuple[str, ...]) -> None:
        self.n, self.names, self.count = n, names, 0
        self._columns = {name: array("q", bytes(8 * n)) for name in names}

    def add(self, row: dict[str, object]) -> None:
        for name in self.names:
            value = row[name]
            if value is not None and name in self.CODES:
                value = self.CODES[name].index(value)
            elif name == "seconds":
                value = round(value * 1e6)
            self._columns[name][self.count] = -1 if value is None else value
        self.count += 1

    def rows(self) -> list[dict[str, object]]:
        """The recorded rows as dicts (after the run: this is where memory may grow)."""
        return [{name: self._value(name, self._columns[name][i]) for name in self.names} for i in range(self.count)]

    def _value(self, name: str, value: int) -> object:
        if name == "seconds":
            return value / 1e6
        if value == -1:
            return None
        return self.CODES[name][value] if name in self.CODES else value


def glibc_arenas() -> dict[str, int] | None:
    """How many glibc arenas exist and the bytes they took from the system (``malloc_info``), or ``None``."""
    libc = _libc()
    if allocator_name() != "glibc":
        return None
    libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "malloc_info.xml"
        handle = libc.fopen(str(path).encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        xml = path.read_text()
    total = re.search(r'</heap>\s*<total type="fast".*?<system type="current" size="(\d+)"', xml, re.DOTALL)
    return {"arenas": len(re.findall(r"<heap nr=", xml)), "system_bytes": int(total.group(1)) if total else -1}


class Tracer:
    """``tracemalloc`` and object counts: a mark when the warm-up ends, a difference at the end.

    Started before the first invocation, so every allocation of the run is traced (which slows it and
    adds tracemalloc's own memory to RSS: a traced run is for finding, not for the table's figures).
    """

    def __init__(self) -> None:
        tracemalloc.start(TRACE_FRAMES)
        self._mark: tuple[tracemalloc.Snapshot, Counter[str], int, dict | None] | None = None
        self.at_mark: int | None = None

    @staticmethod
    def traced_bytes() -> int:
        return tracemalloc.get_traced_memory()[0]

    def mark(self, invocation: int) -> None:
        gc.collect()
        self.at_mark = invocation
        self._mark = (tracemalloc.take_snapshot(), _object_counts(), self.traced_bytes(), glibc_arenas())

    def report(self, invocation: int) -> dict:
        """What grew between the mark and now: Python bytes by allocating line, objects by type, arenas."""
        assert self._mark is not None, "report() before mark()"
        gc.collect()
        snapshot, counts, traced, arenas = self._mark
        objects = _object_counts()
        now = tracemalloc.take_snapshot()
        # What the probe itself holds (the mark's counts) is not the invocations' growth.
        filters = [
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, __file__, all_frames=True),
        ]
        stats = now.filter_traces(filters).compare_to(snapshot.filter_traces(filters), "traceback")
        grown = [s for s in stats if s.size_diff > 0][:TOP]
        types = Counter({name: objects[name] - counts.get(name, 0) for name in objects}).most_common(TOP)
        return {
            "from_invocation": self.at_mark,
            "to_invocation": invocation,
            "traced_bytes": [traced, self.traced_bytes()],
            "python_growth_bytes": sum(s.size_diff for s in stats),
            "glibc_arenas": [arenas, glibc_arenas()],
            "top_growth": [
                {
                    "size_diff": s.size_diff,
                    "count_diff": s.count_diff,
                    "where": [f"{_short(f.filename)}:{f.lineno}" for f in s.traceback[-6:]],
                }
                for s in grown
            ],
            "object_types_grown": [[name, diff] for name, diff in types if diff > 0],
        }


def _object_counts() -> Counter[str]:
    """Live objects the collector tracks, by type (frozen ones excluded: the worker's imports)."""
    names = (f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    return Counter(name for name in names if not name.startswith("tracemalloc."))


def describe(trace: dict) -> str:
    """A trace as a few lines: Python memory traced, arenas, the largest growths and the types that grew."""
    arenas_before, arenas_after = trace["glibc_arenas"]
    span, grown = trace["to_invocation"] - trace["from_invocation"], trace["python_growth_bytes"]
    lines = [
        f"  invocations {trace['from_invocation']} -> {trace['to_invocation']}: Python memory (traced, the "
        f"probe's own left out) {grown / 1024:+.1f} KiB ({grown / 1024 / max(span, 1):+.3f} KiB/inv)"
    ]
    if arenas_before and arenas_after:
        lines.append(
            f"  glibc arenas {arenas_before['arenas']} -> {arenas_after['arenas']}, from the system "
            f"{arenas_before['system_bytes'] / 2**20:.1f} -> {arenas_after['system_bytes'] / 2**20:.1f} MiB"
        )
    for growth in trace["top_growth"][:6]:
        where = " < ".join(_short(frame) for frame in growth["where"][::-1][:3])
        lines.append(f"  {growth['size_diff']:+9d} B {growth['count_diff']:+6d} blocks  {where}")
    lines.append("  objects grown: " + ", ".join(f"{name} {diff:+d}" for name, diff in trace["object_types_grown"][:8]))
    return "\n".join(lines)


def _short(path: str) -> str:
    """A frame's file without the interpreter's or the venv's prefix."""
    for marker in ("site-packages/", f"python{sys.version_info.major}.{sys.version_info.minor}/", f"{REPO}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path
