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

One arena for every thread (M_ARENA_MAX = 1). By default each thread that allocates gets an
arena of its own (up to 8 per core), and a worker computes its passes in the threads of its pool.
Measured with benchmarks/bench_stream_memory.py (twelve slow readers of the largest pass): after
they closed, glibc's `malloc_info` counted 620 MB free in 13 arenas, which `malloc_trim(0)` did not
give back (RSS unchanged by it; the free top of a thread's heap is, as far as glibc's source goes,
trimmed only by `free` against the trim threshold, so never below 512 MiB), and the worker stayed
at 4.6 times its starting RSS. With one arena `malloc_trim(0)` gives back every free page: 1.14
times the start after twelve readers, 1.06 after four (benchmarks/SERVICE_RESULTS.md). The one
arena costs nothing measurable: four threads computing passes at once made 1.01 times the passes
per second of one arena per thread (benchmarks/bench_arenas.py), as the interpreter's lock
already serialises nearly all allocation (NumPy allocates its arrays holding it).

`keep_freed_memory` makes these settings, once, for the whole process; it is called when the
engine is imported (app/rnn/__init__.py). It does nothing outside glibc, and nothing when the
process was started with malloc settings of its own (MALLOC_ARENA_MAX, the MALLOC_*_ variables or
GLIBC_TUNABLES),
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
M_ARENA_MAX = -8
TRIM_THRESHOLD = 512 * 2**20

_SETTINGS_FROM_ENVIRONMENT = (
    "GLIBC_TUNABLES",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)


def keep_freed_memory() -> bool:
    """Make glibc keep freed blocks in one arena's heaps (see the module docstring); True if it
    agreed. Call it before other threads allocate: a thread's arena, once made, stays."""
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
    return (
        mallopt(M_ARENA_MAX, 1) == 1
        and mallopt(M_MMAP_MAX, 0) == 1
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )


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
