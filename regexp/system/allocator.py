"""The C allocator's handling of freed memory.

By default glibc hands a freed block of more than a few MB back to the OS, and the next
training step's tensor of that size is faulted in again page by page; keep_freed_memory asks
it to keep such blocks for reuse (docs/speed.md, trick 3).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@functools.cache
def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks (up to 256 MB) for reuse instead of handing
    them back to the OS; whether it could (False off glibc). Asked once per process.
    mallopt is glibc's public knob for this."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, 256 << 20)) and bool(mallopt(M_MMAP_THRESHOLD, 32 << 20))
