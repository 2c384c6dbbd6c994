"""Small array helpers shared by the cells and the network."""

import numpy as np
from numpy.typing import NDArray

from app.rnn.errors import NumericalError

Array = NDArray[np.floating]


def previous(S0: Array, S: Array) -> Array:
    """The state one step earlier, S_{t-1} for t = 0…T-1: S0 (B, H), S (T, B, H) → (T, B, H)."""
    return np.concatenate([S0[None], S[:-1]], axis=0)


def check_finite(name: str, value: Array) -> None:
    """Raise NumericalError naming `name` and the first bad index if `value` holds NaN or Inf."""
    if np.isfinite(value).all():
        return
    bad = np.argwhere(~np.isfinite(value))[0]
    where = "[" + ", ".join(str(int(i)) for i in bad) + "]"
    kind = "NaN" if np.isnan(value[tuple(bad)]) else "Inf"
    raise NumericalError(f"{name} holds {kind} at index {where}")
