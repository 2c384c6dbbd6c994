"""What every recurrent layer returns from its backward pass, and the products all cells share."""

import functools
from dataclasses import dataclass, field

import numpy as np

from app.rnn.arrays import Array, previous, workspace


def side_by_side(steps_of_gates: Array) -> Array:
    """(T, G, B, H) → (T, B, G·H): each step's gates side by side, in PyTorch's column order. A
    view where the layout allows it (a contiguous array with B = 1), a copy otherwise."""
    T, gates, B, hidden_size = steps_of_gates.shape
    return np.swapaxes(steps_of_gates, 1, 2).reshape(T, B, gates * hidden_size)


class GateViews:
    """For the traces of the gated cells, which hold their pre-activations A_gates and gate values
    G_gates as (T, G, B, H): A and G as (T, B, G·H), formed once, when first read."""

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

    grads: dict[str, Array]
    dH0: Array
    dH: Array
    dA_x_blocks: tuple[Array, ...]
    dA_h: Array
    W_xh: Array = field(repr=False)
    dC0: Array | None = None
    dC: Array | None = None
    _dA_x: Array | None = field(default=None, init=False, repr=False)
    _dX: Array | None = field(default=None, init=False, repr=False)

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
            dX = self.dA_x.reshape(T * B, width) @ self.W_xh.T
            self._dX = dX.reshape(T, B, self.W_xh.shape[0])
        return self._dX


def weight_grads(
    X: Array,
    H0: Array,
    H: Array,
    dA_x_blocks: tuple[Array, ...],
    dA_h: Array,
    out: dict[str, Array],
) -> dict[str, Array]:
    """W_xh, W_hh and b_h gradients as single products over all timesteps:
    dW_xh = Σ_t X_tᵀ dA_x,t and dW_hh = Σ_t H_{t-1}ᵀ dA_h,t.

    X: (T, B, D); H0: (B, H); H: (T, B, H); dA_x_blocks: the column blocks of dA_x (T, B, ·)
    (see LayerGrads); dA_h: (T, B, G·H). `out`: the arrays to write W_xh, W_hh and b_h into.
    """
    T, B, D = X.shape
    hidden_size, width = H.shape[2], dA_h.shape[2]
    dtype = H.dtype
    H_prev = previous(H0, H, out=workspace("layer.H_prev", H.shape, dtype))
    X_T = X.reshape(T * B, D).T
    dW_xh, dW_hh, db_h = out["W_xh"], out["W_hh"], out["b_h"]
    # np.dot rather than matmul: matmul leaves BLAS for a (K, 1) × (1, N) product (T·B = 1).
    if len(dA_x_blocks) == 1:
        dA_x_flat = dA_x_blocks[0].reshape(T * B, width)
        np.dot(X_T, dA_x_flat, out=dW_xh)
        np.add.reduce(dA_x_flat, axis=0, out=db_h)
    else:
        start = 0
        for block in dA_x_blocks:
            columns = slice(start, start + block.shape[2])
            block_flat = block.reshape(T * B, block.shape[2])  # a view: rows of the time steps
            dW_xh[:, columns] = np.dot(X_T, block_flat)
            np.add.reduce(block_flat, axis=0, out=db_h[columns])
            start = columns.stop
    np.dot(H_prev.reshape(T * B, hidden_size).T, dA_h.reshape(T * B, width), out=dW_hh)
    return {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
