"""The cells as equations: each cell's forward step and backward step, side by side.

This module is the spec. The fast cells (elman.py, lstm.py, gru.py) compute the same numbers for a
whole sequence at once, and tests/rnn/test_reference.py holds them equal to these steps, and these
steps equal to PyTorch. To change a cell, change it here first, then its fast path.

Row vectors, as in docs/design.md: X_t (B, D); H_t, C_t (B, H); W_xh (D, G·H), W_hh (H, G·H) and b_h
(G·H,) hold the G gates' blocks side by side in PyTorch's order (LSTM i, f, g, o; GRU r, z, n);
the GRU keeps b_hn (H,), which the reset gate multiplies, apart. A backward step receives dH_t =
dL/dH_t, the total from the output at t and from step t + 1, and returns the gradients of the
step's inputs and its contribution to each parameter gradient, which the caller sums over time.
Every step allocates its results; nothing here is meant to be fast.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.rnn.arrays import Array

Params = dict[str, Array]


def sigmoid(A: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-A))


PHI: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda A: np.maximum(A, 0.0),
    "identity": lambda A: A,
}


def phi_prime(nonlinearity: str, A: Array, H: Array) -> Array:
    """φ'(A) from A and H = φ(A)."""
    if nonlinearity == "tanh":
        return 1.0 - H * H
    if nonlinearity == "sigmoid":
        return H * (1.0 - H)
    if nonlinearity == "relu":
        return (A > 0.0).astype(A.dtype)  # relu'(0) = 0, as in PyTorch
    return np.ones_like(A)


def gate_blocks(W: Array, gates: int) -> list[Array]:
    """The G gates' blocks of W (·, G·H) or b (G·H,), in order: W_xh → W_xi, W_xf, W_xg, W_xo."""
    return np.split(W, gates, axis=-1)


@dataclass
class BackwardStep:
    """What a backward step returns, every array (B, ·) except `params`.

    dH_t: the total dL/dH_t the step received; dA_t: dL/dA_t of the input side X_t W_xh + b_h
    (B, G·H); dA_h: that of the recurrent side H_{t-1} W_hh (B, G·H), dA_t itself except in the
    GRU's n block; dX_t (B, D) and dH_prev = dL/dH_{t-1} (B, H) through this step; params: the
    step's contribution to dW_xh, dW_hh, db_h (and db_hn). LSTM only: dC_t, the total dL/dC_t,
    and dC_prev = dL/dC_{t-1} through this step.
    """

    dH_t: Array
    dA_t: Array
    dA_h: Array
    dX_t: Array
    dH_prev: Array
    params: Params
    dC_t: Array | None = None
    dC_prev: Array | None = None


@dataclass
class ElmanStep:
    X_t: Array
    H_prev: Array
    A_t: Array
    H_t: Array


def elman_forward(X_t: Array, H_prev: Array, p: Params, nonlinearity: str) -> ElmanStep:
    """X_t (B, D), H_{t-1} (B, H) → A_t, H_t (B, H)."""
    A_t = X_t @ p["W_xh"] + H_prev @ p["W_hh"] + p["b_h"]
    H_t = PHI[nonlinearity](A_t)
    return ElmanStep(X_t, H_prev, A_t, H_t)


def elman_backward(dH_t: Array, s: ElmanStep, p: Params, nonlinearity: str) -> BackwardStep:
    """dH_t (B, H) → the step's gradients."""
    dA_t = dH_t * phi_prime(nonlinearity, s.A_t, s.H_t)  # H_t = φ(A_t)
    dX_t = dA_t @ p["W_xh"].T  # A_t = X_t W_xh + H_{t-1} W_hh + b_h
    dH_prev = dA_t @ p["W_hh"].T
    dW_xh = s.X_t.T @ dA_t
    dW_hh = s.H_prev.T @ dA_t
    db_h = dA_t.sum(axis=0)
    params = {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
    return BackwardStep(dH_t, dA_t, dA_t, dX_t, dH_prev, params)


@dataclass
class LSTMStep:
    X_t: Array
    H_prev: Array
    C_prev: Array
    A_t: Array
    i: Array
    f: Array
    g: Array
    o: Array
    C_t: Array
    H_t: Array


def lstm_forward(X_t: Array, H_prev: Array, C_prev: Array, p: Params) -> LSTMStep:
    """X_t (B, D), H_{t-1}, C_{t-1} (B, H) → A_t = [A_i | A_f | A_g | A_o] (B, 4H), the gates
    i, f, g, o and C_t, H_t (B, H)."""
    A_t = X_t @ p["W_xh"] + H_prev @ p["W_hh"] + p["b_h"]
    A_i, A_f, A_g, A_o = gate_blocks(A_t, 4)
    i, f, g, o = sigmoid(A_i), sigmoid(A_f), np.tanh(A_g), sigmoid(A_o)
    C_t = f * C_prev + i * g
    H_t = o * np.tanh(C_t)
    return LSTMStep(X_t, H_prev, C_prev, A_t, i, f, g, o, C_t, H_t)


def lstm_backward(dH_t: Array, dC_next: Array, s: LSTMStep, p: Params) -> BackwardStep:
    """dH_t (B, H), and dC_next (B, H): dL/dC_t through C_{t+1} (zeros at the last step)."""
    tanh_C = np.tanh(s.C_t)
    dC_t = dC_next + dH_t * s.o * (1.0 - tanh_C * tanh_C)  # H_t = o ⊙ tanh(C_t)
    dA_i = dC_t * s.g * s.i * (1.0 - s.i)  # C_t = f ⊙ C_{t-1} + i ⊙ g, i = σ(A_i)
    dA_f = dC_t * s.C_prev * s.f * (1.0 - s.f)  # f = σ(A_f)
    dA_g = dC_t * s.i * (1.0 - s.g * s.g)  # g = tanh(A_g)
    dA_o = dH_t * tanh_C * s.o * (1.0 - s.o)  # o = σ(A_o)
    dA_t = np.concatenate([dA_i, dA_f, dA_g, dA_o], axis=1)
    dX_t = dA_t @ p["W_xh"].T  # A_t = X_t W_xh + H_{t-1} W_hh + b_h
    dH_prev = dA_t @ p["W_hh"].T
    dC_prev = dC_t * s.f
    dW_xh = s.X_t.T @ dA_t
    dW_hh = s.H_prev.T @ dA_t
    db_h = dA_t.sum(axis=0)
    params = {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
    return BackwardStep(dH_t, dA_t, dA_t, dX_t, dH_prev, params, dC_t, dC_prev)


@dataclass
class GRUStep:
    X_t: Array
    H_prev: Array
    A_t: Array
    r: Array
    z: Array
    N_t: Array
    n: Array
    H_t: Array


def gru_forward(X_t: Array, H_prev: Array, p: Params) -> GRUStep:
    """X_t (B, D), H_{t-1} (B, H) → A_t = [A_r | A_z | A_n] (B, 3H), the gates r, z, n, the
    candidate's recurrent term N_t and H_t (B, H)."""
    W_xr, W_xz, W_xn = gate_blocks(p["W_xh"], 3)
    W_hr, W_hz, W_hn = gate_blocks(p["W_hh"], 3)
    b_r, b_z, b_n = gate_blocks(p["b_h"], 3)
    A_r = X_t @ W_xr + H_prev @ W_hr + b_r
    A_z = X_t @ W_xz + H_prev @ W_hz + b_z
    r, z = sigmoid(A_r), sigmoid(A_z)
    N_t = H_prev @ W_hn + p["b_hn"]  # b_hn inside the reset product, as in PyTorch
    A_n = X_t @ W_xn + b_n + r * N_t
    n = np.tanh(A_n)
    H_t = (1.0 - z) * n + z * H_prev
    return GRUStep(X_t, H_prev, np.concatenate([A_r, A_z, A_n], axis=1), r, z, N_t, n, H_t)


def gru_backward(dH_t: Array, s: GRUStep, p: Params) -> BackwardStep:
    """dH_t (B, H) → the step's gradients."""
    dA_n = dH_t * (1.0 - s.z) * (1.0 - s.n * s.n)  # H_t = (1 − z) ⊙ n + z ⊙ H_{t-1}, n = tanh(A_n)
    dA_z = dH_t * (s.H_prev - s.n) * s.z * (1.0 - s.z)  # z = σ(A_z)
    dN_t = dA_n * s.r  # A_n = X_t W_xn + b_n + r ⊙ N_t
    dA_r = dA_n * s.N_t * s.r * (1.0 - s.r)  # r = σ(A_r)
    dA_t = np.concatenate([dA_r, dA_z, dA_n], axis=1)  # of X_t W_xh + b_h
    dA_h = np.concatenate([dA_r, dA_z, dN_t], axis=1)  # of H_{t-1} W_hh (+ b_hn in the n block)
    dX_t = dA_t @ p["W_xh"].T
    dH_prev = dA_h @ p["W_hh"].T + dH_t * s.z
    dW_xh = s.X_t.T @ dA_t
    dW_hh = s.H_prev.T @ dA_h
    db_h = dA_t.sum(axis=0)
    db_hn = dN_t.sum(axis=0)
    params = {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h, "b_hn": db_hn}
    return BackwardStep(dH_t, dA_t, dA_h, dX_t, dH_prev, params)


Step = ElmanStep | LSTMStep | GRUStep


def forward(
    cell: str,
    X: Array,
    p: Params,
    H0: Array,
    C0: Array | None = None,
    nonlinearity: str = "tanh",
) -> list[Step]:
    """One layer over a sequence: X (T, B, D), H0, C0 (B, H) → its T steps, in order."""
    steps: list[Step] = []
    H_prev, C_prev = H0, np.zeros_like(H0) if C0 is None else C0
    for X_t in X:
        step: Step
        if cell == "rnn":
            step = elman_forward(X_t, H_prev, p, nonlinearity)
        elif cell == "lstm":
            step = lstm_forward(X_t, H_prev, C_prev, p)
            C_prev = step.C_t
        else:
            step = gru_forward(X_t, H_prev, p)
        steps.append(step)
        H_prev = step.H_t
    return steps


def backward(
    steps: list[Step],
    p: Params,
    dH_out: Array,
    truncate: int | None = None,
    nonlinearity: str = "tanh",
) -> list[BackwardStep]:
    """BPTT through one layer: dH_out (T, B, H), the gradient reaching each H_t from outside the
    recurrence (the head, the layer above) → each step's gradients, in time order; the first
    step's dH_prev and dC_prev are dL/dH0 and dL/dC0.

    With `truncate` = k no gradient crosses from step t to step t − 1 where t is a positive
    multiple of k, as when PyTorch detaches the state before steps k, 2k, ….
    """
    grads: list[BackwardStep] = []
    dH_next = np.zeros_like(dH_out[0])  # dL/dH_t through step t + 1
    dC_next = np.zeros_like(dH_out[0])
    for t in range(len(steps) - 1, -1, -1):
        dH_t = dH_out[t] + dH_next
        s = steps[t]
        if isinstance(s, ElmanStep):
            backward_step = elman_backward(dH_t, s, p, nonlinearity)
        elif isinstance(s, LSTMStep):
            backward_step = lstm_backward(dH_t, dC_next, s, p)
        else:
            backward_step = gru_backward(dH_t, s, p)
        grads.append(backward_step)
        cut = truncate is not None and t > 0 and t % truncate == 0
        dH_next = np.zeros_like(dH_t) if cut else backward_step.dH_prev
        if backward_step.dC_prev is not None:
            dC_next = np.zeros_like(dH_t) if cut else backward_step.dC_prev
    return grads[::-1]
