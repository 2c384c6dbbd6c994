"""The vanilla (Elman) RNN layer: H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h).

Row-vector convention: X_t (B, D), H_t (B, H), W_xh (D, H), W_hh (H, H), b_h (H,). Arrays inside
the layer are time-major, (T, B, ·), so that one timestep is one contiguous slice.
The input projection of all timesteps is one matrix product; only the recurrence is a loop, and
each loop iteration is three NumPy calls writing into preallocated buffers (φ is one of them,
except tanh of 512 elements or more, which takes five: see activations.py).
"""

from dataclasses import dataclass

import numpy as np

from app.rnn.activations import FORWARD, derivative
from app.rnn.arrays import Array, workspace
from app.rnn.layer import LayerGrads, weight_grads


@dataclass
class ElmanTrace:
    """Everything the forward pass computed, and what backward needs.

    X: (T, B, D) inputs; H0: (B, H); A: (T, B, H) pre-activations; H: (T, B, H) hidden states.
    """

    nonlinearity: str
    X: Array
    H0: Array
    A: Array
    H: Array

    def gates(self) -> dict[str, Array]:
        return {}


def init_state(B: int, hidden_size: int, dtype: np.dtype) -> tuple[Array, None]:
    return np.zeros((B, hidden_size), dtype=dtype), None


def forward(
    X: Array, params: dict[str, Array], H0: Array, C0: None, nonlinearity: str
) -> ElmanTrace:
    """X: (T, B, D), H0: (B, H) → trace with A, H: (T, B, H)."""
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    T, B, D = X.shape
    hidden_size = W_hh.shape[0]
    A = workspace("elman.A", (T, B, hidden_size), X.dtype)
    np.dot(X.reshape(T * B, D), W_xh, out=A.reshape(T * B, hidden_size))
    A += b_h
    H = workspace("elman.H", A.shape, X.dtype)
    phi = FORWARD[nonlinearity]
    recurrent = workspace("elman.recurrent", (B, hidden_size), X.dtype)
    dot, add = np.dot, np.add
    H_prev = H0
    for A_t, H_t in zip(A, H, strict=True):
        dot(H_prev, W_hh, out=recurrent)
        add(A_t, recurrent, out=A_t)  # A_t = X_t W_xh + b_h + H_{t-1} W_hh
        phi(A_t, out=H_t)  # H_t = φ(A_t)
        H_prev = H_t
    return ElmanTrace(nonlinearity, X, H0, A, H)


def factors(trace: ElmanTrace) -> dict[str, Array]:
    """What backward multiplies by at each step, computed for all steps at once: φ'(A_t)."""
    dphi = workspace("elman.dphi", trace.A.shape, trace.A.dtype)
    return {"dphi": derivative(trace.nonlinearity, trace.A, trace.H, out=dphi)}


def backward(
    trace: ElmanTrace,
    params: dict[str, Array],
    dH_out: Array,
    grads_out: dict[str, Array],
    truncate: int | None = None,
) -> LayerGrads:
    """BPTT through the layer.

    dH_out: (T, B, H) the gradient reaching H_t from outside the recurrence (the head or the layer
    above). With `truncate` = k the recurrent gradient is cut at steps k, 2k, …, exactly as
    detaching the hidden state every k steps does in PyTorch. `grads_out`: arrays, by parameter
    name, to write the parameter gradients into.
    """
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    X, H0, H = trace.X, trace.H0, trace.H
    T, B, _ = X.shape
    hidden_size = W_hh.shape[0]
    dphi = factors(trace)["dphi"]
    dH = workspace("elman.dH", H.shape, H.dtype)
    dA = workspace("elman.dA", H.shape, H.dtype)
    W_hh_T = workspace("elman.W_hh_T", W_hh.shape, H.dtype)
    np.copyto(W_hh_T, W_hh.T)
    dH_next = workspace("elman.dH_next", (B, hidden_size), H.dtype)
    dH_next.fill(0.0)
    dot, add, multiply = np.dot, np.add, np.multiply
    steps = zip(range(T - 1, -1, -1), dH_out[::-1], dH[::-1], dA[::-1], dphi[::-1], strict=True)
    for t, dH_out_t, dH_t, dA_t, dphi_t in steps:
        add(dH_out_t, dH_next, out=dH_t)  # dL/dH_t: from the output and from the future
        multiply(dH_t, dphi_t, out=dA_t)  # dL/dA_t = dL/dH_t ⊙ φ'(A_t)
        if truncate is not None and t % truncate == 0:
            dH_next.fill(0.0)
        else:
            dot(dA_t, W_hh_T, out=dH_next)  # dL/dH_{t-1} through the recurrence
    grads = weight_grads(X, H0, H, (dA,), dA, grads_out)
    dH0 = np.dot(dA[0], W_hh_T)
    return LayerGrads(grads, dH0, dH, (dA,), dA, W_xh)


def vjp_step(
    trace: ElmanTrace,
    params: dict[str, Array],
    step_factors: dict[str, Array],
    t: int,
    b: int,
    dH: Array,
    dC: None,
) -> tuple[Array, None]:
    """One step of the recurrence backwards for sequence b: rows of dL/dH_t (P, H) ↦ rows of
    dL/dH_{t-1} (P, H)."""
    return (dH * step_factors["dphi"][t, b]) @ params["W_hh"].T, None
