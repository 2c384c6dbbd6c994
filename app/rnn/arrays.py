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
    per name; a buffer is handed out again only when the pool's own reference is the only one
    left, so an array that a trace, a result or any view of them still holds is never
    overwritten.
    """
    pools: dict[str, list[Array]] = _pools.__dict__.setdefault("pools", {})
    pool = pools.setdefault(name, [])
    for index in range(len(pool)):
        if _references(pool, index) <= _UNSHARED:
            if pool[index].shape != shape or pool[index].dtype != dtype:
                pool[index] = np.empty(shape, dtype=dtype)
            return pool[index]
    buffer = np.empty(shape, dtype=dtype)
    if len(pool) < _POOL_DEPTH:
        pool.append(buffer)
    return buffer


def release_workspace() -> None:
    """Drop this thread's pooled buffers (arrays still in use elsewhere stay valid)."""
    _pools.__dict__.pop("pools", None)


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
