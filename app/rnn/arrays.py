"""Small array helpers shared by the cells and the network."""

import functools
import math
import sys
import threading
import weakref

import numpy as np
from numpy.typing import NDArray

from app.rnn.errors import NumericalError

Array = NDArray[np.floating]


def previous(S0: Array, S: Array, out: Array | None = None) -> Array:
    """The state one step earlier, S_{t-1} for t = 0…T-1: S0 (B, H), S (T, B, H) → (T, B, H)."""
    if out is None:
        return np.concatenate([S0[None], S[:-1]], axis=0)
    out[0] = S0
    out[1:] = S[:-1]
    return out


@functools.cache
def constant(value: float, dtype: np.dtype) -> Array:
    """`value` as a read-only 0-d array of `dtype`. As a ufunc operand inside the per-step loops
    it costs about half what a Python float does, which NumPy converts on every call."""
    array = np.array(value, dtype=np.dtype(dtype))
    array.setflags(write=False)
    return array


_pools = threading.local()

# Buffers kept per name and thread; more live arrays of one name than this are allocated unpooled.
_POOL_DEPTH = 8
# What the pools of all threads together may hold. A pool only saves page faults, so once it is
# full a pass allocates its arrays as usual; a server running passes on many threads stays bounded.
# The benchmark's largest row (S6, LSTM, float64) needs about 400 MiB to fault no page at all.
POOL_MAX_BYTES = 1024 * 2**20

_pooled_bytes = 0
_pooled_lock = threading.RLock()  # re-entrant: a garbage collection inside may run _unpool


def _pool(buffer: Array) -> bool:
    """Count `buffer` against POOL_MAX_BYTES until it is freed; False if it does not fit."""
    global _pooled_bytes
    with _pooled_lock:
        if _pooled_bytes + buffer.nbytes > POOL_MAX_BYTES:
            return False
        _pooled_bytes += buffer.nbytes
    weakref.finalize(buffer, _unpool, buffer.nbytes)
    return True


def _unpool(nbytes: int) -> None:
    global _pooled_bytes
    with _pooled_lock:
        _pooled_bytes -= nbytes


def _unshared_count() -> int:
    for candidate in [np.empty(0)]:
        return sys.getrefcount(candidate)
    raise AssertionError("unreachable")


# What getrefcount reports, inside the loop of `workspace`, for a buffer that only the pool holds
# (3 on CPython 3.11: the list, the loop variable and getrefcount's argument), measured with the
# same construct rather than assumed.
_UNSHARED = _unshared_count()


def workspace(name: str, shape: tuple[int, ...], dtype: np.dtype) -> Array:
    """An uninitialised (shape) array of dtype, reused from an earlier call when nothing else
    still refers to it.

    Large arrays allocated fresh on every call cost a page fault per 4 KiB page, because the
    allocator hands them back to the OS when they are freed (about 9,000 faults a call for the
    GRU at S6 of the benchmark, a third of its time). Each thread keeps up to _POOL_DEPTH buffers
    per name, all threads POOL_MAX_BYTES in all; a buffer is handed out again only when the
    pool's own reference is the only one left, so an array that a trace, a result or any view of
    them still holds is never overwritten.
    """
    pools: dict[str, list[Array]] = _pools.__dict__.setdefault("pools", {})
    pool = pools.setdefault(name, [])
    first_free: Array | None = None
    for candidate in pool:  # a list iterator holds no reference to the items (enumerate would)
        if sys.getrefcount(candidate) <= _UNSHARED:
            if candidate.shape == shape and candidate.dtype == dtype:
                return candidate
            if first_free is None:
                first_free = candidate
    if first_free is not None:  # a free buffer of another shape makes room for this one
        pool[:] = [kept for kept in pool if kept is not first_free]
        del first_free
    buffer = np.empty(shape, dtype=dtype)
    if len(pool) < _POOL_DEPTH and _pool(buffer):
        pool.append(buffer)
    return buffer


def pooled_bytes() -> int:
    """How many bytes the workspace holds, all threads together (buffers handed out included)."""
    with _pooled_lock:
        return _pooled_bytes


def release_workspace() -> None:
    """Drop this thread's pooled buffers (arrays still in use elsewhere stay valid)."""
    _pools.__dict__.pop("pools", None)


def all_finite(value: Array) -> bool:
    """Whether `value` holds no NaN and no ±Inf, without a warning.

    A large contiguous array is first tested with one BLAS product: value·value is finite only if
    every element is (NaN and ±Inf carry through a sum of squares, which nothing can cancel), so
    a finite result settles it at half the cost of np.isfinite; an infinite one may be an
    overflow of large but finite squares and is settled element by element.
    """
    if value.size >= 4096 and value.flags.c_contiguous:
        flat = value.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            if math.isfinite(flat.dot(flat)):
                return True
    return bool(np.isfinite(value).all())


def check_all_finite(named: dict[str, Array], what: str) -> None:
    """check_finite for each array of `named`, as "{what} {name}", in one test when all are
    finite (the sum of their sums of squares, see all_finite), one by one only when not."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for value in named.values():
            flat = value.reshape(-1)
            total += float(flat.dot(flat))
    if math.isfinite(total):
        return
    for name, value in named.items():
        check_finite(f"{what} {name}", value)


def check_finite(name: str, value: Array) -> None:
    """Raise NumericalError naming `name` and the first bad index if `value` holds NaN or Inf."""
    if all_finite(value):
        return
    bad = np.argwhere(~np.isfinite(value))[0]
    where = "[" + ", ".join(str(int(i)) for i in bad) + "]"
    kind = "NaN" if np.isnan(value[tuple(bad)]) else "Inf"
    raise NumericalError(f"{name} holds {kind} at index {where}")
