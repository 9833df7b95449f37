"""Freed memory returned to the OS: glibc's mmap threshold pinned at 128 KiB, as
``MALLOC_MMAP_THRESHOLD_=131072`` would at start-up, and its arenas trimmed after each recording.

After the first free of such a mapping glibc raises the threshold, and a long transcription's MiB-sized
buffers (ranged reads, the SDK's audio, decoded frames) come from heap arenas, where fragmentation keeps
freed ones resident: peak memory crept up with the recording's length (docs/performance.md, section 3).
Smaller blocks stay in the arenas anyway, and an arena gives back only its top: what the SDK's native threads
free below a live block stays resident, so RSS climbed over hundreds of invocations in steps glibc counted as
free, not in use (issue 27). ``release_free_memory()`` gives those pages back. Does nothing off glibc.
"""

from __future__ import annotations

import logging
import platform

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024

_done = False
_malloc_trim = None


def _on_glibc() -> bool:
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def return_large_buffers_to_os() -> bool:
    """Pin glibc's mmap threshold (once per process); True if it is pinned."""
    global _done
    if _done:
        return True
    if not _on_glibc():
        return False
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        log.warning("could not pin the allocator's mmap threshold; long recordings may use more memory")
        return False
    _done = True
    return True


def release_free_memory() -> bool:
    """Give the pages glibc holds free in all its arenas back to the OS (``malloc_trim(0)``); True if it ran.

    Blocks in use are not moved, only whole free pages go; each arena is locked while its free lists are walked.
    """
    global _malloc_trim
    if _malloc_trim is None:
        if not _on_glibc():
            return False
        import ctypes

        _malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
        if _malloc_trim is None:
            return False
        _malloc_trim.argtypes = [ctypes.c_size_t]
    _malloc_trim(0)
    return True
