"""Directions and lengths: a stack of layers run forward, and reversed (bidirectional), over
sequences that may end before T (variable-length batches).

A reverse direction is the same recurrence over the time-reversed sequence, so each direction
runs the layer's fast cell unchanged; only its input and output are re-indexed. Sequence b of
the batch is real for steps t < lengths[b] and padding after, as `pack_padded_sequence` has it:

    forward:  H_t = cell(X_t, H_{t-1})             t = 0 … lengths[b] − 1
    reverse:  H'_s = cell(X_{l−1−s}, H'_{s−1})      s = 0 … l − 1,  l = lengths[b]

so the reverse direction starts at each sequence's own last step. At padded steps the states
are zero (what `pad_packed_sequence` returns) and receive no gradient; a unit's final state is
its state at step lengths[b] − 1. Every array here is time-major, (T, B, ·). A unit is one
(layer, direction) pair, in PyTorch's order: layer-major, the forward direction first.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.rnn.arrays import Array, all_finite
from app.rnn.cells import Cell, CellTrace, LayerGrads, Params
from app.rnn.errors import ShapeError

Index = NDArray[np.integer]
Mask = NDArray[np.bool_]


@dataclass
class Steps:
    """Which steps of a batch are real. T: the steps of the arrays; lengths: (B,) integers in
    1…T, or None when every sequence has all T steps (then nothing is masked)."""

    T: int
    lengths: Index | None = None

    @functools.cached_property
    def padded(self) -> Mask:
        """(T, B) bool: True at the padding, t ≥ lengths[b]."""
        assert self.lengths is not None
        return np.arange(self.T)[:, None] >= self.lengths[None, :]

    @functools.cached_property
    def _reversal(self) -> Index:
        """(T, B, 1) step indices: per sequence, its real steps reversed, its padding in place
        (an involution: applied twice it is the identity)."""
        assert self.lengths is not None
        t = np.arange(self.T)[:, None]
        index = np.where(t < self.lengths[None, :], self.lengths[None, :] - 1 - t, t)
        return index[:, :, None]

    def reversed(self, Z: Array) -> Array:
        """Z (T, B, K) in the reverse direction's order of steps, and back (the same map)."""
        if self.lengths is None:
            return np.ascontiguousarray(Z[::-1])
        return np.take_along_axis(Z, self._reversal, axis=0)

    def zero_padding(self, Z: Array) -> None:
        """Z (T, B, ·): zeros at the padded steps, in place."""
        if self.lengths is not None:
            Z[self.padded] = 0.0

    def masked(self, Z: Array) -> Array:
        """Z (T, B, ·) with zeros at the padded steps: Z itself without lengths, else a copy."""
        if self.lengths is None:
            return Z
        return np.where(self.padded[:, :, None], 0.0, Z).astype(Z.dtype, copy=False)

    def last(self, Z: Array) -> Array:
        """Z (T, B, K) → (B, K): each sequence's Z at its own last step, lengths[b] − 1."""
        if self.lengths is None:
            return Z[-1]
        return Z[self.lengths - 1, np.arange(Z.shape[1])]

    def last_index(self, B: int) -> tuple[Index, Index]:
        """The (step, sequence) indices of each sequence's last step: ((B,), (B,))."""
        steps = np.full(B, self.T - 1) if self.lengths is None else self.lengths - 1
        return steps, np.arange(B)


def checked_lengths(lengths: object, B: int, T: int) -> Index | None:
    """lengths (B,) whole numbers in 1…T → an int64 array; None when absent or when every
    sequence is T long (nothing to mask). ShapeError names the first bad element."""
    if lengths is None:
        return None
    given = np.asarray(lengths)
    if given.shape != (B,):
        raise ShapeError(f"lengths has shape {given.shape}, expected (B,) = ({B},)")
    if given.dtype == bool or not (
        np.issubdtype(given.dtype, np.integer) or np.issubdtype(given.dtype, np.floating)
    ):
        raise ShapeError(f"lengths must be whole numbers, got dtype {given.dtype}")
    for i, value in enumerate(given.tolist()):
        if not float(value).is_integer() or not 1 <= value <= T:
            raise ShapeError(f"lengths[{i}] = {value!r}: a length is a whole number in 1…T = {T}")
    result = given.astype(np.int64)
    return None if bool((result == T).all()) else result


def stack_forward(
    cell: Cell[CellTrace],
    unit_params: list[Params],
    X: Array,
    H0: Array,
    C0: Array | None,
    steps: Steps,
    directions: int,
    check: Callable[[Array, str], None],
) -> tuple[list[CellTrace], Array]:
    """X (T, B, D), H0 and C0 (units, B, H) → every unit's trace (each in its own order of
    steps) and the top layer's output (T, B, directions·H) in the inputs' order: [H | H'] with
    H'_t the reverse direction's state after reading X_{l−1} … X_t. `check(S, what)` tests the
    states for overflow."""
    traces: list[CellTrace] = []
    masked = steps.lengths is not None
    layer_input = steps.masked(X) if masked else X
    for layer in range(len(unit_params) // directions):
        outputs = []
        for direction in range(directions):
            unit = layer * directions + direction
            reads = layer_input if direction == 0 else steps.reversed(layer_input)
            trace = cell.forward(
                reads, unit_params[unit], H0[unit], None if C0 is None else C0[unit]
            )
            if masked:
                steps.zero_padding(trace.H)
                if trace.C is not None:
                    steps.zero_padding(trace.C)
            if not all_finite(trace.H):
                check(trace.H, f"layer {layer}{' reverse' if direction else ''} hidden state H_t")
            traces.append(trace)
            outputs.append(trace.H if direction == 0 else steps.reversed(trace.H))
        layer_input = outputs[0] if directions == 1 else np.concatenate(outputs, axis=2)
    return traces, layer_input


def stack_backward(
    unit_backward: Callable[[int, Array], LayerGrads],
    units: int,
    dH_top: Array,
    steps: Steps,
    directions: int,
) -> list[LayerGrads]:
    """BPTT through the stack. dH_top (T, B, directions·H): the gradient reaching the top
    layer's output from the head, in the inputs' order; `unit_backward(unit, dH_out)` runs one
    unit's cell backward on dH_out (T, B, H) in that unit's own order of steps. → every unit's
    gradients (each in its own order of steps), in the order of units."""
    grads: list[LayerGrads] = [None] * units  # type: ignore[list-item]
    dH_layer = dH_top
    for layer in range(units // directions - 1, -1, -1):
        hidden_size = dH_layer.shape[2] // directions
        dX: Array | None = None
        for direction in range(directions):
            unit = layer * directions + direction
            dH_out = dH_layer
            if directions > 1:
                columns = dH_layer[:, :, direction * hidden_size : (direction + 1) * hidden_size]
                dH_out = steps.reversed(columns) if direction else np.ascontiguousarray(columns)
            result = unit_backward(unit, steps.masked(dH_out))
            grads[unit] = result
            if layer > 0:
                reached = result.dX if direction == 0 else steps.reversed(result.dX)
                dX = reached if dX is None else dX + reached
        if dX is not None:
            dH_layer = dX
    return grads
