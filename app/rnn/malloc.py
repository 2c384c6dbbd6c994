"""glibc's malloc told to keep freed memory for the next pass, so that passes fault no pages.

Every pass allocates its arrays afresh (traces, gradients, scratch: megabytes each at the batch
sizes of benchmarks/RESULTS.md's S4 and S6). glibc serves a block above its mmap threshold with
a mapping of its own and unmaps it when it is freed, and gives the top of its heap back to the
kernel once more than its trim threshold lies free there. By default both thresholds are low
(128 KiB and twice the mmap threshold, raised as large blocks are freed), so the next pass
faults every 4 KiB page of its arrays in again, and the kernel zeroes each one: thousands of
faults a pass (measured in benchmarks/RESULTS.md). With the mmap threshold fixed at its maximum,
32 MiB, and the trim threshold at 512 MiB, freed blocks stay in the heap (the main one and
those of other threads alike), where the next pass finds them already mapped. Blocks above
32 MiB are still mapped and unmapped each time.

`keep_freed_memory` sets both, once, for the whole process; it is called when the engine is
imported (app/rnn/__init__.py). It does nothing outside glibc, and nothing when the process was
started with malloc settings of its own (the MALLOC_*_ variables or GLIBC_TUNABLES), which
glibc has already read.
"""

import ctypes
import os
import platform

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # the largest value glibc accepts on 64-bit systems
TRIM_THRESHOLD = 512 * 2**20

_SETTINGS_FROM_ENVIRONMENT = (
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring); True if glibc took them."""
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
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and (
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
