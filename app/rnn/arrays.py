"""Small array helpers shared by the cells and the network."""

import math

import numpy as np
from numpy.typing import NDArray

from app.rnn.errors import NumericalError

Array = NDArray[np.floating]


def previous(S0: Array, S: Array) -> Array:
    """The state one step earlier, S_{t-1} for t = 0…T-1: S0 (B, H), S (T, B, H) → (T, B, H)."""
    return np.concatenate([S0[None], S[:-1]], axis=0)


def all_finite(value: Array) -> bool:
    """Whether `value` holds no NaN and no ±Inf, without a warning.

    A large contiguous array is first tested with one BLAS product: value·value is finite only if
    every element is (NaN and ±Inf carry through a sum of squares, which nothing can cancel), so
    a finite result settles it faster than np.isfinite could (benchmarks/RESULTS.md); an
    infinite one may be an overflow of large but finite squares and is settled element by element.
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
