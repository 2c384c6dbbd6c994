"""Binary stream frames made a run at a time (app.web.binary's layout, the stream's frames).

Every array of a pass's frames is one row of a few columns: sequence 0's (T, K) rows of H_t,
A_t, the gates, dL/dH_t… (app.web.frames builds each frame through a `row(column, t)`). Here each
column is cast to the wire's dtype once, the columns of a frame are laid side by side as one
(T, W) block of bytes, and the buffers of frame t are the block's row t; the header names each
array by a descriptor made once per place. A frame costs its small JSON header and one copy of
its bytes, not a walk, a cast and a copy per array. The messages are byte for byte
`binary.encode` of the same frames with their rows as arrays (tests/web/test_columns.py).
"""

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import orjson

from app.rnn.arrays import Array
from app.web import binary

__all__ = ["RowPlacer", "encode_rows"]


class RowPlacer:
    """The `row(column, t)` of a binary run: places row t of `column` (an (N, …) array) after
    the arrays already in the frame being built, and stands for it with its descriptor."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype
        self.little = np.dtype(dtype).newbyteorder("<")
        self.columns: list[Array] = []  # the frame's arrays, in header order: their columns…
        self.steps: list[int] = []  # … and rows
        self.size = 0
        # (id of the column, offset) → its descriptor and the bytes it takes, padding included;
        # the columns are kept so that their ids stay theirs
        self._placed: dict[tuple[int, int], tuple[dict[str, Any], int]] = {}
        self._kept: list[Array] = []

    def __call__(self, column: Array, t: int) -> dict[str, Any]:
        key = (id(column), self.size)
        placed = self._placed.get(key)
        if placed is None:
            self._kept.append(column)
            nbytes = math.prod(column.shape[1:]) * self.little.itemsize
            descriptor = {"dtype": self.dtype, "shape": column.shape[1:], "offset": self.size}
            placed = self._placed[key] = (descriptor, nbytes + binary.padding(nbytes))
        self.size += placed[1]
        self.columns.append(column)
        self.steps.append(t)
        return placed[0]

    def take(self) -> tuple[list[Array], list[int]]:
        """The columns and rows of the frame just built, in order; the next frame starts empty."""
        taken = self.columns, self.steps
        self.columns, self.steps, self.size = [], [], 0
        return taken


def encode_rows(
    make_frames: Callable[[RowPlacer], Iterable[dict[str, Any]]], dtype: str
) -> Iterator[bytes]:
    """The binary messages of the frames `make_frames(row)` yields, built with `row` for each
    array (a `RowPlacer`), its arrays as little-endian `dtype`."""
    row = RowPlacer(dtype)
    little = row.little
    blocks: dict[tuple[int, ...], Array] = {}  # the ids of a frame's columns → their block

    def block(columns: list[Array]) -> Array:
        parts = []
        for column in columns:
            N = len(column)
            values = np.ascontiguousarray(column, dtype=little).reshape(N, -1).view(np.uint8)
            parts.append(values)
            pad = binary.padding(values.shape[1])
            if pad:
                parts.append(np.zeros((N, pad), np.uint8))
        return np.concatenate(parts, axis=1)

    def row_bytes(column: Array, t: int) -> bytes:
        data = np.ascontiguousarray(column[t], dtype=little).tobytes()
        return data + bytes(binary.padding(len(data)))

    for frame in make_frames(row):
        header = binary.framed(orjson.dumps(frame))
        columns, steps = row.take()
        t = steps[0] if steps else 0
        if steps and steps.count(t) == len(steps):  # row t of each column: a row of their block
            key = tuple(map(id, columns))
            rows = blocks.get(key)
            if rows is None:
                rows = blocks[key] = block(columns)
            yield header + rows[t].tobytes()
        else:
            yield header + b"".join(map(row_bytes, columns, steps))
