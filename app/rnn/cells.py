"""What the fast cells share: the Cell protocol, the one gate layout, and a layer's gradients.

Each fast cell (elman.py, lstm.py, gru.py) runs one layer over a whole sequence, time-major
(T, B, ·), and computes what the steps of reference.py compute; tests/rnn/test_reference.py holds
the two equal.

The gate layout: the gated cells keep pre-activations and gates as (T, G, B, H), a step's G gates
one after the other and each gate one contiguous (B, H) block, because NumPy runs an element-wise
call over a contiguous block several times faster than over the strided column blocks of (B, G·H)
rows (benchmarks/RESULTS.md). Their traces offer A and G as (T, B, G·H), PyTorch's column order.
"""

import functools
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from app.rnn.arrays import Array, previous

Params = dict[str, Array]


class CellTrace(Protocol):
    """What a fast cell's forward pass keeps, time-major: X (T, B, D) its input; H0 (B, H);
    H (T, B, H); A (T, B, G·H) the pre-activations; C (T, B, H) the LSTM's cell states, None for
    the other cells; gates(): each gate (T, B, H) by name (and the LSTM's C)."""

    @property
    def X(self) -> Array: ...
    @property
    def H0(self) -> Array: ...
    @property
    def H(self) -> Array: ...
    @property
    def A(self) -> Array: ...
    @property
    def C(self) -> Array | None: ...
    def gates(self) -> dict[str, Array]: ...


TraceT = TypeVar("TraceT", bound=CellTrace)


class Cell(Protocol[TraceT]):
    """One recurrent layer's forward pass and BPTT over a whole sequence (fast, time-major)."""

    def forward(self, X: Array, params: Params, H0: Array, C0: Array | None) -> TraceT:
        """X (T, B, D); H0 and, for the LSTM, C0 (B, H) → the trace."""
        ...

    def backward(
        self,
        trace: TraceT,
        params: Params,
        dH_out: Array,
        grads_out: Params,
        truncate: int | None,
    ) -> "LayerGrads":
        """BPTT. dH_out (T, B, H): the gradient reaching H_t from outside the recurrence (the
        head or the layer above). `truncate` = k: no gradient crosses from step t to t − 1 where
        t is a positive multiple of k (reference.backward). The parameter gradients are written
        into the arrays of `grads_out`, by name."""
        ...

    def factors(self, trace: TraceT) -> dict[str, Array]:
        """What backward multiplies by at each step, for all steps at once, (T, …) each."""
        ...

    def vjp_step(
        self,
        trace: TraceT,
        params: Params,
        factors: dict[str, Array],
        t: int,
        b: int,
        dH: Array,
        dC: Array | None,
    ) -> tuple[Array, Array | None]:
        """One step of the recurrence backwards for sequence b: rows of dL/dH_t (P, H), and for
        the LSTM of dL/dC_t (None for zeros), ↦ the rows of dL/dH_{t-1} (and dL/dC_{t-1})."""
        ...


def gate_major(rows: Array, gates: int) -> Array:
    """(…, B, G·H) → a (…, G, B, H) view: each gate's columns as one block of the leading axes."""
    *lead, B, width = rows.shape
    return rows.reshape(*lead, B, gates, width // gates).swapaxes(-3, -2)


def side_by_side(steps_of_gates: Array) -> Array:
    """(T, G, B, H) → (T, B, G·H): each step's gates side by side, in PyTorch's column order. A
    view where the layout allows it (B = 1), a copy otherwise."""
    T, gates, B, hidden_size = steps_of_gates.shape
    return steps_of_gates.swapaxes(1, 2).reshape(T, B, gates * hidden_size)


def input_projection(X: Array, W_xh: Array, b_h: Array, gates: int) -> Array:
    """X_t W_xh + b_h for every step, in the gate layout: X (T, B, D) → (T, G, B, H).

    One matrix product over all steps where the layout is the product's own row layout (B = 1,
    where (T, G, 1, H) is (T, G·H), or G = 1); otherwise one product per step and gate, in a
    single matmul call, each writing its (B, H) block in place. The one product would then need
    a pass of its own to rearrange its (B, G·H) rows into blocks, and per-step products without
    a batch cost a call each: both measured in benchmarks/RESULTS.md.
    """
    T, B, D = X.shape
    width = W_xh.shape[1]
    A = np.empty((T, gates, B, width // gates), dtype=X.dtype)
    if B == 1 or gates == 1:
        # np.dot, not matmul: matmul leaves BLAS for an inner dimension of 1 (D = 1) and is then
        # several times slower (benchmarks/RESULTS.md).
        np.dot(X.reshape(T * B, D), W_xh, out=A.reshape(T * B, width))
    else:
        np.matmul(X[:, None], W_xh.reshape(D, gates, -1).swapaxes(0, 1), out=A)
    A += b_h.reshape(gates, 1, -1)
    return A


class GateViews:
    """For the gated traces, which hold pre-activations A_gates and gate values G_gates as
    (T, G, B, H): A and G as (T, B, G·H), formed once, when first read."""

    A_gates: Array
    G_gates: Array

    @functools.cached_property
    def A(self) -> Array:
        return side_by_side(self.A_gates)

    @functools.cached_property
    def G(self) -> Array:
        return side_by_side(self.G_gates)


@dataclass
class LayerGrads:
    """dL/d(everything) of one layer: parameters, inputs, initial state, per-timestep trace.

    grads: the layer's parameter gradients by name (W_xh, W_hh, b_h, and b_hn for the GRU);
    dH0: (B, H); dH: (T, B, H) the total dL/dH_t (from the output at t and from the future);
    dA_x_blocks: column blocks (T, B, ·) that side by side make dA_x (T, B, G·H), the gradient of
    the input-side pre-activation X_t W_xh + b_h (one block for rnn and lstm; the GRU's r, z
    block and its n block, which live in separate arrays);
    dA_h: (T, B, G·H) that of the recurrent product H_{t-1} W_hh (dA_x itself for rnn and lstm).
    For the LSTM, dC0: (B, H) and dC: (T, B, H) the total dL/dC_t.
    dA_x and dX: (T, B, D) dL/dX_t = dA_x W_xhᵀ are formed when first read: the layer below needs
    dX and the page dA_x, but a training step needs neither, and at large sizes each costs a pass
    over memory or as much as a weight gradient.
    """

    grads: Params
    dH0: Array
    dH: Array
    dA_x_blocks: tuple[Array, ...]
    dA_h: Array
    W_xh: Array = field(repr=False)
    dC0: Array | None = None
    dC: Array | None = None
    _dA_x: Array | None = field(default=None, init=False, repr=False)
    _dX: Array | None = field(default=None, init=False, repr=False)

    # Cached by hand: functools.cached_property takes a lock at every first read (Python 3.11).
    @property
    def dA_x(self) -> Array:
        if len(self.dA_x_blocks) == 1:
            return self.dA_x_blocks[0]
        if self._dA_x is None:
            self._dA_x = np.concatenate(self.dA_x_blocks, axis=2)
        return self._dA_x

    @property
    def dX(self) -> Array:
        if self._dX is None:
            T, B, width = self.dA_x.shape
            dX = np.dot(self.dA_x.reshape(T * B, width), self.W_xh.T)
            self._dX = dX.reshape(T, B, self.W_xh.shape[0])
        return self._dX


def weight_grads(
    X: Array,
    H0: Array,
    H: Array,
    dA_x_blocks: tuple[Array, ...],
    dA_h: Array,
    out: Params,
) -> Params:
    """The sums over time of reference.py's per-step weight gradients, each one matrix product
    over all timesteps: dW_xh = Σ_t X_tᵀ dA_x,t, dW_hh = Σ_t H_{t-1}ᵀ dA_h,t, db_h = Σ_t Σ_b dA_x,t.

    X: (T, B, D); H0: (B, H); H: (T, B, H); dA_x_blocks: the column blocks of dA_x (T, B, ·)
    (see LayerGrads); dA_h: (T, B, G·H). `out`: the arrays to write W_xh, W_hh and b_h into.
    """
    T, B, D = X.shape
    hidden_size, width = H.shape[2], dA_h.shape[2]
    X_T = X.reshape(T * B, D).T
    dW_xh, dW_hh, db_h = out["W_xh"], out["W_hh"], out["b_h"]
    start = 0
    for block in dA_x_blocks:
        columns = slice(start, start + block.shape[2])
        block_flat = block.reshape(T * B, block.shape[2])
        # np.dot, as in input_projection: here the inner dimension is 1 when T·B = 1.
        if block.shape[2] == width:
            np.dot(X_T, block_flat, out=dW_xh)
        else:
            dW_xh[:, columns] = np.dot(X_T, block_flat)
        np.add.reduce(block_flat, axis=0, out=db_h[columns])
        start = columns.stop
    H_prev = previous(H0, H).reshape(T * B, hidden_size)
    np.dot(H_prev.T, dA_h.reshape(T * B, width), out=dW_hh)
    return {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
