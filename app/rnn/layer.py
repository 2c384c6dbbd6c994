"""What every recurrent layer returns from its backward pass, and the products all cells share."""

from dataclasses import dataclass, field

import numpy as np

from app.rnn.arrays import Array, previous, workspace


@dataclass
class LayerGrads:
    """dL/d(everything) of one layer: parameters, inputs, initial state, per-timestep trace.

    grads: the layer's parameter gradients by name (W_xh, W_hh, b_h, and b_hn for the GRU);
    dH0: (B, H); dH: (T, B, H) the total dL/dH_t (from the output at t and from the future);
    dA_x: (T, B, G·H) the gradient of the input-side pre-activation X_t W_xh + b_h;
    dA_h: (T, B, G·H) that of the recurrent product H_{t-1} W_hh (the same array for rnn and lstm).
    For the LSTM, dC0: (B, H) and dC: (T, B, H) the total dL/dC_t.
    dX: (T, B, D) dL/dX_t = dA_x W_xhᵀ, computed when first read: the layer below needs it, the
    network's inputs rarely do, and at large sizes it costs as much as a weight gradient.
    """

    grads: dict[str, Array]
    dH0: Array
    dH: Array
    dA_x: Array
    dA_h: Array
    W_xh: Array = field(repr=False)
    dC0: Array | None = None
    dC: Array | None = None
    _dX: Array | None = field(default=None, init=False, repr=False)

    @property
    def dX(self) -> Array:
        if self._dX is None:
            T, B, width = self.dA_x.shape
            dX = self.dA_x.reshape(T * B, width) @ self.W_xh.T
            self._dX = dX.reshape(T, B, self.W_xh.shape[0])
        return self._dX


def weight_grads(X: Array, H0: Array, H: Array, dA_x: Array, dA_h: Array) -> dict[str, Array]:
    """W_xh, W_hh and b_h gradients as single products over all timesteps:
    dW_xh = Σ_t X_tᵀ dA_x,t and dW_hh = Σ_t H_{t-1}ᵀ dA_h,t.

    X: (T, B, D); H0: (B, H); H: (T, B, H); dA_x, dA_h: (T, B, G·H).
    """
    T, B, D = X.shape
    hidden_size, width = H.shape[2], dA_x.shape[2]
    dtype = H.dtype
    H_prev = previous(H0, H, out=workspace("layer.H_prev", H.shape, dtype))
    dA_x_flat = dA_x.reshape(T * B, width)
    # np.dot rather than matmul: matmul leaves BLAS for a (K, 1) × (1, N) product (T·B = 1).
    return {
        "W_xh": np.dot(
            X.reshape(T * B, D).T, dA_x_flat, out=workspace("layer.dW_xh", (D, width), dtype)
        ),
        "W_hh": np.dot(
            H_prev.reshape(T * B, hidden_size).T,
            dA_h.reshape(T * B, width),
            out=workspace("layer.dW_hh", (hidden_size, width), dtype),
        ),
        "b_h": np.add.reduce(dA_x_flat, axis=0, out=workspace("layer.db_h", (width,), dtype)),
    }
