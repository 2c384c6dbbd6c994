"""The LSTM layer, with PyTorch's gate equations and gate order (i, f, g, o):

    [A_i | A_f | A_g | A_o] = X_t W_xh + H_{t-1} W_hh + b_h          (B, 4H)
    i = σ(A_i)   f = σ(A_f)   g = tanh(A_g)   o = σ(A_o)
    C_t = f ⊙ C_{t-1} + i ⊙ g
    H_t = o ⊙ tanh(C_t)

W_xh (D, 4H) and W_hh (H, 4H) hold the four gates' weights side by side, in that order;
b_h (4H,) is PyTorch's bias_ih + bias_hh. Arrays inside the layer are time-major, (T, B, ·).

Speed: σ(a) = 1 / (1 + e^(−a)) and tanh(a) = 2 / (1 + e^(−2a)) − 1, so with the columns of the
weights and bias scaled once per pass by −1 (i, f, o) and −2 (g), a single exp over all four
gates, one +1 and one division m / (1 + e) with m = 1 (i, f, o) or 2 (g) evaluate every gate; g is
then shifted by −1 (see activations.py for why exp, not tanh). Scaling by −1 and −2 is exact in
binary floating point, so the true pre-activations are recovered exactly for the trace.
Pre-activations and gates are kept as (T, 4, B, H), each step's four gates one after the other:
every gate of every step is then one contiguous (B, H) block, which NumPy runs through several
times faster than the strided columns of (B, 4H) rows. For B = 1 this is the (T, B, 4H) layout
itself; the trace offers A and G in that layout (formed when first read for B > 1).
"""

import functools
from dataclasses import dataclass

import numpy as np

from app.rnn.activations import EXP_TANH_MIN_SIZE, tanh
from app.rnn.arrays import Array, constant, workspace
from app.rnn.layer import GateViews, LayerGrads, weight_grads

GATE_NAMES = ("i", "f", "g", "o")


@dataclass
class LSTMTrace(GateViews):
    """X: (T, B, D); H0, C0: (B, H); A_gates: (T, 4, B, H) gate pre-activations and G_gates:
    (T, 4, B, H) gate values, i, f, g, o; C: (T, B, H) cell states; tanhC = tanh(C); H: (T, B, H)
    hidden states. A and G (GateViews): the pre-activations and gates side by side, (T, B, 4H)."""

    X: Array
    H0: Array
    C0: Array
    A_gates: Array
    G_gates: Array
    C: Array
    tanhC: Array
    H: Array

    def gates(self) -> dict[str, Array]:
        """Each gate (T, B, H) by name, and the cell state C."""
        named = {name: self.G_gates[:, k] for k, name in enumerate(GATE_NAMES)}
        named["C"] = self.C
        return named


def init_state(B: int, hidden_size: int, dtype: np.dtype) -> tuple[Array, Array]:
    return np.zeros((B, hidden_size), dtype=dtype), np.zeros((B, hidden_size), dtype=dtype)


@functools.lru_cache(maxsize=16)
def _gate_vectors(hidden_size: int, dtype: np.dtype) -> tuple[Array, Array, Array]:
    """The pre-activation scale (4H,) over W's columns (−1 for the sigmoid gates i, f, o; −2 for
    g), and the numerator m (1; 2) and shift (0; −1) of gate = m / (1 + e^(scale·A)) + shift,
    each (4, 1, H). Read-only, and shared by every pass of this size."""
    scale = np.full(4 * hidden_size, -1.0, dtype=dtype)
    scale[2 * hidden_size : 3 * hidden_size] = -2.0
    numerator = np.ones((4, 1, hidden_size), dtype=dtype)
    numerator[2] = 2.0
    shift = np.zeros((4, 1, hidden_size), dtype=dtype)
    shift[2] = -1.0
    for vector in (scale, numerator, shift):
        vector.setflags(write=False)
    return scale, numerator, shift


def _step_shaped(name: str, vector: Array, B: int) -> Array:
    """`vector` (4, 1, H) as a step's (4, B, H): an operand of the step's own shape costs NumPy
    half what a broadcast one does."""
    if B == 1:
        return vector
    rows = workspace(name, (4, B, vector.shape[2]), vector.dtype)
    np.copyto(rows, vector)
    return rows


def forward(
    X: Array, params: dict[str, Array], H0: Array, C0: Array | None, nonlinearity: str = "tanh"
) -> LSTMTrace:
    """X: (T, B, D), H0, C0: (B, H) → trace with gates (T, 4, B, H) and C, H: (T, B, H)."""
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    T, B, D = X.shape
    hidden_size = W_hh.shape[0]
    width = 4 * hidden_size
    dtype = X.dtype
    if C0 is None:
        C0 = np.zeros_like(H0)
    scale, numerator, shift = _gate_vectors(hidden_size, dtype)
    numerator = _step_shaped("lstm.numerator", numerator, B)
    shift = _step_shaped("lstm.shift", shift, B)
    W_hh_scaled = np.multiply(W_hh, scale, out=workspace("lstm.W_hh_scaled", W_hh.shape, dtype))
    W_xh_scaled = np.multiply(W_xh, scale, out=workspace("lstm.W_xh_scaled", W_xh.shape, dtype))
    A = workspace("lstm.A", (T, 4, B, hidden_size), dtype)
    if B == 1:  # (T, 4, 1, H) is (T, 4H): one product
        np.dot(X.reshape(T, D), W_xh_scaled, out=A.reshape(T, width))
    else:  # one product per step and gate, in one call
        W_xh_gates = W_xh_scaled.reshape(D, 4, hidden_size).transpose(1, 0, 2)
        np.matmul(X[:, None], W_xh_gates, out=A)
    A += (b_h * scale).reshape(4, 1, hidden_size)
    G = workspace("lstm.G", A.shape, dtype)
    C = workspace("lstm.C", (T, B, hidden_size), dtype)
    tanhC = workspace("lstm.tanhC", C.shape, dtype)
    H = workspace("lstm.H", C.shape, dtype)
    recurrent = workspace("lstm.recurrent", (B, width), dtype)
    recurrent_gates = recurrent.reshape(B, 4, hidden_size).transpose(1, 0, 2)  # (4, B, H) view
    i_times_g = workspace("lstm.i_times_g", (B, hidden_size), dtype)
    one = constant(1.0, dtype)
    tanh_C = np.tanh if B * hidden_size < EXP_TANH_MIN_SIZE else tanh
    # The loop body is NumPy calls only, bound to locals: at small sizes each call's fixed cost,
    # not its arithmetic, is the time of a step.
    dot, add, multiply, divide, exp = np.dot, np.add, np.multiply, np.divide, np.exp
    H_prev, C_prev = H0, C0
    # Iterating the arrays side by side costs fewer Python operations a step than indexing each.
    gates = (G[:, 0], G[:, 1], G[:, 2], G[:, 3])  # i, f, g, o: (T, B, H) each
    for A_t, G_t, i, f, g, o, C_t, tanhC_t, H_t in zip(A, G, *gates, C, tanhC, H, strict=True):
        dot(H_prev, W_hh_scaled, out=recurrent)
        add(A_t, recurrent_gates, out=A_t)  # (scaled) A_t = X_t W_xh + H_{t-1} W_hh + b_h
        exp(A_t, out=G_t)
        add(G_t, one, out=G_t)
        divide(numerator, G_t, out=G_t)  # i, f, o = σ(A); g = tanh(A) + 1
        add(G_t, shift, out=G_t)
        multiply(f, C_prev, out=C_t)  # C_t = f ⊙ C_{t-1} + i ⊙ g
        multiply(i, g, out=i_times_g)
        add(C_t, i_times_g, out=C_t)
        tanh_C(C_t, out=tanhC_t)
        multiply(o, tanhC_t, out=H_t)  # H_t = o ⊙ tanh(C_t)
        H_prev, C_prev = H_t, C_t
    A /= scale.reshape(4, 1, hidden_size)  # back to the true pre-activations for the trace
    return LSTMTrace(X, H0, C0, A, G, C, tanhC, H)


def factors(trace: LSTMTrace) -> dict[str, Array]:
    """The products backward needs at every step, computed for all steps at once.

    F (T, 4, B, H) = [g σ'_i, C_{t-1} σ'_f, i tanh'_g, tanh(C) σ'_o] turns [dL/dC_t (three
    times), dL/dH_t] into the gate pre-activation gradients in one product; K (T, B, H) =
    o ⊙ (1 − tanh²C) carries dL/dH_t into dL/dC_t; f (T, B, H) is the forget gate.
    """
    dtype = trace.H.dtype
    one = constant(1.0, dtype)
    G = trace.G_gates
    i, f, g, o = G[:, 0], G[:, 1], G[:, 2], G[:, 3]
    F = workspace("lstm.F", G.shape, dtype)
    np.subtract(one, G, out=F)  # σ' = σ (1 − σ) for i, f, o; the g block is replaced below
    F *= G
    F_i, F_f, F_g, F_o = F[:, 0], F[:, 1], F[:, 2], F[:, 3]
    F_i *= g
    F_f[0] *= trace.C0
    F_f[1:] *= trace.C[:-1]
    np.multiply(g, g, out=F_g)  # i tanh'(A_g) = i ⊙ (1 − g²)
    np.subtract(one, F_g, out=F_g)
    F_g *= i
    F_o *= trace.tanhC
    K = np.multiply(trace.tanhC, trace.tanhC, out=workspace("lstm.K", trace.C.shape, dtype))
    np.subtract(one, K, out=K)
    K *= o
    return {"F": F, "K": K, "f": f}


def backward(
    trace: LSTMTrace,
    params: dict[str, Array],
    dH_out: Array,
    grads_out: dict[str, Array],
    truncate: int | None = None,
) -> LayerGrads:
    """BPTT through the layer. dH_out: (T, B, H) gradient reaching H_t from outside the recurrence;
    `truncate` = k cuts the recurrent gradient (of H and C) at steps k, 2k, …, like detaching.

    Each step fills U_t (4, B, H) = [dL/dC_t, dL/dC_t, dL/dC_t, dL/dH_t]; then one product with
    the factors F gives all four gates' pre-activation gradients. `grads_out`: arrays, by
    parameter name, to write the parameter gradients into.
    """
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    X, H = trace.X, trace.H
    T, B, _ = X.shape
    hidden_size = W_hh.shape[0]
    width = 4 * hidden_size
    dtype = H.dtype
    fac = factors(trace)
    F, K, f = fac["F"], fac["K"], fac["f"]
    U = workspace("lstm.U", (T, 4, B, hidden_size), dtype)
    dA = workspace("lstm.dA", (T, B, width), dtype)
    dA_gates = dA.reshape(T, B, 4, hidden_size).transpose(0, 2, 1, 3)  # (T, 4, B, H) view
    W_hh_T = workspace("lstm.W_hh_T", (width, hidden_size), dtype)
    np.copyto(W_hh_T, W_hh.T)
    dH_next = workspace("lstm.dH_next", (B, hidden_size), dtype)
    dC_next = workspace("lstm.dC_next", (B, hidden_size), dtype)
    dH_next.fill(0.0)
    dC_next.fill(0.0)
    dot, add, multiply, copyto = np.dot, np.add, np.multiply, np.copyto
    views = (dH_out, U, U[:, 0], U[:, :1], U[:, 1:3], U[:, 3], dA, dA_gates, K, F, f)
    steps = zip(range(T - 1, -1, -1), *(array[::-1] for array in views), strict=True)
    for t, dH_out_t, U_t, dC_t, dC_from, dC_copies, dH_t, dA_t, dA_gates_t, K_t, F_t, f_t in steps:
        add(dH_out_t, dH_next, out=dH_t)
        multiply(dH_t, K_t, out=dC_t)  # dL/dC_t = dL/dH_t ⊙ o ⊙ tanh'(C_t) + future
        add(dC_t, dC_next, out=dC_t)
        copyto(dC_copies, dC_from)
        multiply(U_t, F_t, out=dA_gates_t)  # i, f, g, o
        if truncate is not None and t % truncate == 0:
            dH_next.fill(0.0)
            dC_next.fill(0.0)
        else:
            dot(dA_t, W_hh_T, out=dH_next)
            multiply(dC_t, f_t, out=dC_next)
    grads = weight_grads(X, trace.H0, H, (dA,), dA, grads_out)
    dC = U[:, 0]
    dH0 = np.dot(dA[0], W_hh_T)
    dC0 = dC[0] * f[0]
    return LayerGrads(grads, dH0, U[:, 3], (dA,), dA, W_xh, dC0=dC0, dC=dC)


def vjp_step(
    trace: LSTMTrace,
    params: dict[str, Array],
    step_factors: dict[str, Array],
    t: int,
    b: int,
    dH: Array,
    dC: Array | None,
) -> tuple[Array, Array]:
    """One step backwards for sequence b: rows (dL/dH_t, dL/dC_t) (P, H) ↦ (dL/dH_{t-1},
    dL/dC_{t-1}), through the recurrence only."""
    dC_total = dH * step_factors["K"][t, b] + (0.0 if dC is None else dC)
    F_t = step_factors["F"][t, :, b].reshape(-1)
    dA = np.concatenate([dC_total, dC_total, dC_total, dH], axis=1) * F_t
    return dA @ params["W_hh"].T, dC_total * step_factors["f"][t, b]
