"""Large JSON answers encoded by orjson, NumPy arrays natively (no nested Python lists).

A T = 1000, H = 128 LSTM's forward answer is 26 MB of JSON: the standard `json` module takes
~0.7 s to write it from nested lists, orjson ~0.03 s straight from the arrays. Arrays are sent as
float64, so every number reads as Python's `repr` of the same float (the stream's frames, written
from `tolist()`, carry the very same digits). orjson would write NaN and ±Infinity as null: the
engine refuses non-finite states, and `as_sent` checks every array it hands over (NumericalError,
a 422 naming the array).
"""

from typing import Any

import numpy as np
import orjson
from starlette.responses import JSONResponse

from app.rnn.arrays import check_finite

__all__ = ["FastJSONResponse", "as_sent"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def as_sent(array: Any, name: str) -> np.ndarray:
    """An array as the answer carries it: C-contiguous float64 (orjson's native form), finite
    (else NumericalError naming `name` and the first bad index)."""
    sent = np.ascontiguousarray(array, dtype=np.float64)
    check_finite(name, sent)
    return sent


class FastJSONResponse(JSONResponse):
    """A JSONResponse written by orjson; content may hold NumPy arrays."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)
