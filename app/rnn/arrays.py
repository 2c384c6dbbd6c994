"""Small array helpers shared by the cells and the network."""

import sys
import threading

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


_pools = threading.local()

# Buffers kept per name and thread; more live arrays of one name than this are allocated unpooled.
_POOL_DEPTH = 8
# What one thread's pool may hold at most: a server runs passes on many threads, and a pool only
# saves page faults, so a pass larger than this allocates its arrays as usual.
POOL_MAX_BYTES = 256 * 2**20


def _references(pool: list[Array], index: int) -> int:
    candidate = pool[index]
    return sys.getrefcount(candidate)


# What _references reports for a buffer that only the pool holds (3 on CPython 3.11: the list,
# `candidate` and getrefcount's argument), measured rather than assumed.
_UNSHARED = _references([np.empty(0)], 0)


def workspace(name: str, shape: tuple[int, ...], dtype: np.dtype) -> Array:
    """An uninitialised (shape) array of dtype, reused from an earlier call when nothing else
    still refers to it.

    Large arrays allocated fresh on every call cost a page fault per 4 KiB page, because the
    allocator hands them back to the OS when they are freed (about 9,000 faults a call for the
    GRU at S4 of the benchmark, ~10% of its time). Each thread keeps up to _POOL_DEPTH buffers
    per name, POOL_MAX_BYTES in all; a buffer is handed out again only when the pool's own
    reference is the only one left, so an array that a trace, a result or any view of them
    still holds is never overwritten.
    """
    state = _pools.__dict__
    pools: dict[str, list[Array]] = state.setdefault("pools", {})
    pool = pools.setdefault(name, [])
    free = [index for index in range(len(pool)) if _references(pool, index) <= _UNSHARED]
    for index in free:
        if pool[index].shape == shape and pool[index].dtype == dtype:
            return pool[index]
    if free:  # a free buffer of another shape makes room for this one
        state["bytes"] -= pool.pop(free[0]).nbytes
    buffer = np.empty(shape, dtype=dtype)
    if len(pool) < _POOL_DEPTH and state.get("bytes", 0) + buffer.nbytes <= POOL_MAX_BYTES:
        pool.append(buffer)
        state["bytes"] = state.get("bytes", 0) + buffer.nbytes
    return buffer


def pooled_bytes() -> int:
    """How many bytes this thread's workspace holds."""
    return int(_pools.__dict__.get("bytes", 0))


def release_workspace() -> None:
    """Drop this thread's pooled buffers (arrays still in use elsewhere stay valid)."""
    _pools.__dict__.pop("pools", None)
    _pools.__dict__.pop("bytes", None)


def all_finite(value: Array) -> bool:
    """Whether `value` holds no NaN and no ±Inf, without a warning. Large arrays in two reductions
    and without a temporary (max and min propagate NaN and are infinite exactly when an element
    is); small ones in the fewest NumPy calls."""
    if value.size < 4096:
        return bool(np.isfinite(value).all())
    return bool(np.isfinite(value.max()) and np.isfinite(value.min()))


def check_finite(name: str, value: Array) -> None:
    """Raise NumericalError naming `name` and the first bad index if `value` holds NaN or Inf."""
    if all_finite(value):
        return
    bad = np.argwhere(~np.isfinite(value))[0]
    where = "[" + ", ".join(str(int(i)) for i in bad) + "]"
    kind = "NaN" if np.isnan(value[tuple(bad)]) else "Inf"
    raise NumericalError(f"{name} holds {kind} at index {where}")
