"""Large freed buffers returned to the OS: glibc's mmap threshold pinned at 128 KiB, as
``MALLOC_MMAP_THRESHOLD_=131072`` would at start-up.

After the first free of such a mapping glibc raises the threshold, and a long transcription's MiB-sized
buffers (ranged reads, the SDK's audio, decoded frames) come from heap arenas, where fragmentation keeps
freed ones resident: peak memory crept up with the recording's length (docs/performance.md, section 3).
Does nothing off glibc.
"""

from __future__ import annotations

import logging
import platform

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024

_done = False


def return_large_buffers_to_os() -> bool:
    """Pin glibc's mmap threshold (once per process); True if it is pinned."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        log.warning("could not pin the allocator's mmap threshold; long recordings may use more memory")
        return False
    _done = True
    return True
