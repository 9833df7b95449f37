"""Keep large freed buffers out of the process: glibc's mmap threshold pinned at 128 KiB.

glibc serves an allocation of 128 KiB or more with a mapping of its own and unmaps it when it is
freed, until the first such free: then it raises that threshold (as far as 32 MiB) to save system
calls. From then on the MiB-sized buffers of a long transcription (ranged blob reads, the SDK's audio
chunks, decoded frames) come from the heap arenas, where fragmentation keeps freed ones resident, so
peak memory creeps up with the length of the recording (measured: +7.5 MiB peak RSS between a
1-minute and a 5-minute WAV). Pinned, as ``MALLOC_MMAP_THRESHOLD_=131072`` would at start-up, such
buffers go back to the OS on free (measured: +1.4 MiB for the same pair). The cost is a map and an
unmap per large buffer, a few per second of audio at most.

On a C library other than glibc this does nothing.
"""

from __future__ import annotations

import logging
import platform

log = logging.getLogger(__name__)

#: ``M_MMAP_THRESHOLD`` in glibc's ``malloc.h``.
_M_MMAP_THRESHOLD = -3
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
