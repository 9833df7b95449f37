"""``shared.platform.allocator`` gives freed memory back: the mmap threshold pinned (a large buffer freed goes
back to the OS), the arenas trimmed (free pages below a live block go back too).

Each case runs in a fresh interpreter, since the threshold is process state. glibc's ``mallinfo2()``
says how much memory is in mappings of their own (``hblkhd``): after a 4 MiB buffer has been freed,
an unpinned glibc serves the next 512 KiB buffer from its heap (the threshold rose to 4 MiB), a pinned
one still maps it. The transcription's windows and audio chunks are such buffers (docs/performance.md).
Small blocks freed below a live one stay resident (``RssAnon``) until ``release_free_memory()`` trims them.
"""

from __future__ import annotations

import ctypes
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's allocator only",
)

PROBE = """
import ctypes, json, sys
from shared.platform import allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
pinned = allocator.return_large_buffers_to_os() if sys.argv[1] == "pin" else False
big = bytearray(4 << 20)
del big  # freeing a mapped chunk: an unpinned glibc raises its threshold to its size
before = libc.mallinfo2().hblkhd
buffer = bytearray(512 << 10)
print(json.dumps({"pinned": pinned, "mapped": libc.mallinfo2().hblkhd - before}))
"""


def probe(mode: str, source: str = PROBE) -> dict:
    """Run ``source`` in a fresh interpreter (the allocator's state is per process); its JSON line."""
    completed = subprocess.run(
        [sys.executable, "-c", source, mode], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


def test_pinned_a_large_buffer_gets_its_own_mapping_even_after_a_larger_one_was_freed():
    result = probe("pin")
    assert result["pinned"] is True
    assert result["mapped"] >= 512 << 10


def test_unpinned_glibc_would_have_served_it_from_the_heap():
    # The behaviour the pin exists to prevent; if glibc stops doing this, the pin is no longer needed.
    assert probe("leave")["mapped"] == 0


TRIM_PROBE = """
import json, sys
from shared.platform import allocator

def anon() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024

blocks = [bytearray(1000) for _ in range(40_000)]  # ~40 MiB of small blocks, below the mmap threshold
top = bytearray(1000)  # one live block above them: glibc cannot give the arena's memory back from its top
del blocks
freed = anon()
trimmed = allocator.release_free_memory() if sys.argv[1] == "trim" else False
print(json.dumps({"trimmed": trimmed, "returned": freed - anon()}))
"""


def test_release_free_memory_gives_the_pages_of_free_blocks_below_a_live_one_back():
    result = probe("trim", TRIM_PROBE)
    assert result["trimmed"] is True
    assert result["returned"] > 20 << 20  # most of the ~40 MiB freed


def test_without_it_glibc_keeps_them_resident():
    # The behaviour release_free_memory exists for; if glibc starts returning them itself, it is no longer needed.
    assert probe("leave", TRIM_PROBE)["returned"] < 4 << 20
