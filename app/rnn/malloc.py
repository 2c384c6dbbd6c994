"""glibc's malloc told to keep freed memory for the next pass, so that passes fault no pages.

Every pass allocates its arrays afresh (traces, gradients, scratch: megabytes each at the batch
sizes of benchmarks/RESULTS.md's S4 and S6). By default glibc serves a block above its mmap
threshold (128 KiB, raised up to 32 MiB as large blocks are freed) with a mapping of its own and
unmaps it when it is freed, and gives the top of its heap back to the kernel once more than its
trim threshold (twice the mmap threshold) lies free there. The next pass then faults every page
of its arrays in again, and the kernel zeroes each one: thousands of faults a pass (measured in
benchmarks/RESULTS.md). With no mappings of their own for blocks (M_MMAP_MAX = 0) and a trim
threshold of 512 MiB, freed blocks stay in the heaps, the main one and those of other threads,
where the next pass finds them already mapped. Outside the main thread, where glibc's heaps are
64 MiB each, blocks of tens of MiB still come and go with heaps of their own. The price: up to
the trim threshold of freed memory stays with the process, as a buffer pool's would.

`keep_freed_memory` makes both settings, once, for the whole process; it is called when the
engine is imported (app/rnn/__init__.py). It does nothing outside glibc, and nothing when the
process was started with malloc settings of its own (the MALLOC_*_ variables or GLIBC_TUNABLES),
which glibc has already read.

`give_back_freed_memory` is the way back: `malloc_trim(0)` returns the free pages of every heap
to the kernel, for a caller that knows a burst of large passes is over (a worker's streams,
app/web/stream_slots.py, once no stream job runs).
"""

import ctypes
import os
import platform

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers, from glibc's malloc.h
M_MMAP_MAX = -4
TRIM_THRESHOLD = 512 * 2**20

_SETTINGS_FROM_ENVIRONMENT = (
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)


def keep_freed_memory() -> bool:
    """Make glibc keep freed blocks in its heaps (see the module docstring); True if it agreed."""
    if platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in _SETTINGS_FROM_ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter itself runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


def give_back_freed_memory() -> bool:
    """Return the free pages of glibc's heaps to the kernel (`malloc_trim(0)`); True if any were.
    It walks the heaps: call it off the event loop, after a burst, not after every pass."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return malloc_trim(0) == 1
