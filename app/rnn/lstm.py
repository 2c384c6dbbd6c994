"""The LSTM layer, with PyTorch's gate equations and gate order (i, f, g, o):

    [A_i | A_f | A_g | A_o] = X_t W_xh + H_{t-1} W_hh + b_h          (B, 4H)
    i = σ(A_i)   f = σ(A_f)   g = tanh(A_g)   o = σ(A_o)
    C_t = f ⊙ C_{t-1} + i ⊙ g
    H_t = o ⊙ tanh(C_t)

W_xh (D, 4H) and W_hh (H, 4H) hold the four gates' weights side by side, in that order;
b_h (4H,) is PyTorch's bias_ih + bias_hh. Arrays inside the layer are time-major, (T, B, ·).

Speed: σ(a) = 1 / (1 + e^(−a)) and tanh(a) = 2 / (1 + e^(−2a)) − 1, so with the columns of the
weights and bias scaled once per pass by −1 (i, f, o) and −2 (g), a single exp over all 4H columns,
one +1 and one division m / (1 + e) with m = 1 (i, f, o) or 2 (g) evaluate every gate; g is then
shifted by −1 (see activations.py for why exp, not tanh). Scaling by −1 and −2 is exact in binary
floating point, so the true pre-activations are recovered exactly for the trace.
"""

from dataclasses import dataclass

import numpy as np

from app.rnn.activations import tanh
from app.rnn.arrays import Array, workspace
from app.rnn.layer import LayerGrads, weight_grads

GATE_NAMES = ("i", "f", "g", "o")


@dataclass
class LSTMTrace:
    """X: (T, B, D); H0, C0: (B, H); A: (T, B, 4H) gate pre-activations; G: (T, B, 4H) gate values
    [i | f | g | o]; C: (T, B, H) cell states; tanhC = tanh(C); H: (T, B, H) hidden states."""

    X: Array
    H0: Array
    C0: Array
    A: Array
    G: Array
    C: Array
    tanhC: Array
    H: Array

    def gates(self) -> dict[str, Array]:
        """Each gate (T, B, H) by name, and the cell state C."""
        hidden_size = self.H.shape[2]
        named = {
            name: self.G[:, :, k * hidden_size : (k + 1) * hidden_size]
            for k, name in enumerate(GATE_NAMES)
        }
        named["C"] = self.C
        return named


def init_state(B: int, hidden_size: int, dtype: np.dtype) -> tuple[Array, Array]:
    return np.zeros((B, hidden_size), dtype=dtype), np.zeros((B, hidden_size), dtype=dtype)


def _gate_vectors(hidden_size: int, dtype: np.dtype) -> tuple[Array, Array, Array]:
    """Over the 4H columns: the pre-activation scale (−1 for the sigmoid gates i, f, o; −2 for g),
    the numerator m (1; 2) and the shift (0; −1) of gate = m / (1 + e^(scale·A)) + shift."""
    g_cols = slice(2 * hidden_size, 3 * hidden_size)
    scale = np.full(4 * hidden_size, -1.0, dtype=dtype)
    scale[g_cols] = -2.0
    numerator = np.ones(4 * hidden_size, dtype=dtype)
    numerator[g_cols] = 2.0
    shift = np.zeros(4 * hidden_size, dtype=dtype)
    shift[g_cols] = -1.0
    return scale, numerator, shift


def forward(
    X: Array, params: dict[str, Array], H0: Array, C0: Array | None, nonlinearity: str = "tanh"
) -> LSTMTrace:
    """X: (T, B, D), H0, C0: (B, H) → trace with gates (T, B, 4H) and C, H: (T, B, H)."""
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    T, B, D = X.shape
    hidden_size = W_hh.shape[0]
    if C0 is None:
        C0 = np.zeros_like(H0)
    scale, numerator, shift = _gate_vectors(hidden_size, X.dtype)
    W_hh_scaled = W_hh * scale
    A = workspace("lstm.A", (T, B, 4 * hidden_size), X.dtype)
    np.matmul(X.reshape(T * B, D), W_xh * scale, out=A.reshape(T * B, 4 * hidden_size))
    A += b_h * scale
    G = workspace("lstm.G", A.shape, X.dtype)
    C = workspace("lstm.C", (T, B, hidden_size), X.dtype)
    tanhC = workspace("lstm.tanhC", C.shape, X.dtype)
    H = workspace("lstm.H", C.shape, X.dtype)
    recurrent = workspace("lstm.recurrent", (B, 4 * hidden_size), X.dtype)
    i_times_g = workspace("lstm.i_times_g", (B, hidden_size), X.dtype)
    G4 = G.reshape(T, B, 4, hidden_size)
    gates = (G4[:, :, 0], G4[:, :, 1], G4[:, :, 2], G4[:, :, 3])  # i, f, g, o: (T, B, H) views
    H_prev, C_prev = H0, C0
    # Iterating the arrays side by side costs fewer Python operations a step than indexing each.
    for A_t, G_t, i, f, g, o, C_t, tanhC_t, H_t in zip(A, G, *gates, C, tanhC, H, strict=True):
        np.dot(H_prev, W_hh_scaled, out=recurrent)
        A_t += recurrent  # (scaled) A_t = X_t W_xh + H_{t-1} W_hh + b_h
        np.exp(A_t, out=G_t)
        G_t += 1.0
        np.divide(numerator, G_t, out=G_t)  # i, f, o = σ(A); g = tanh(A) + 1
        G_t += shift
        np.multiply(f, C_prev, out=C_t)  # C_t = f ⊙ C_{t-1} + i ⊙ g
        np.multiply(i, g, out=i_times_g)
        C_t += i_times_g
        tanh(C_t, out=tanhC_t)
        np.multiply(o, tanhC_t, out=H_t)  # H_t = o ⊙ tanh(C_t)
        H_prev, C_prev = H_t, C_t
    A /= scale  # back to the true pre-activations for the trace
    return LSTMTrace(X, H0, C0, A, G, C, tanhC, H)


def factors(trace: LSTMTrace) -> dict[str, Array]:
    """The products backward needs at every step, computed for all steps at once.

    K = o ⊙ (1 − tanh²C) carries dL/dH_t into dL/dC_t; F3 (T, B, 3, H) = [g σ'_i, C_{t-1} σ'_f,
    i tanh'_g] and Fo = tanh(C) σ'_o turn dL/dC_t and dL/dH_t into the gate pre-activation
    gradients.
    """
    hidden_size = trace.H.shape[2]
    T, B = trace.H.shape[:2]
    G4 = trace.G.reshape(T, B, 4, hidden_size)
    i, f, g, o = G4[:, :, 0], G4[:, :, 1], G4[:, :, 2], G4[:, :, 3]
    dtype = trace.G.dtype
    K = np.multiply(trace.tanhC, trace.tanhC, out=workspace("lstm.K", trace.C.shape, dtype))
    np.subtract(1.0, K, out=K)
    K *= o
    F3 = workspace("lstm.F3", (T, B, 3, hidden_size), dtype)
    F_i, F_f, F_g = F3[:, :, 0], F3[:, :, 1], F3[:, :, 2]
    np.subtract(1.0, i, out=F_i)  # g σ'(A_i) = g ⊙ i ⊙ (1 − i)
    F_i *= i
    F_i *= g
    np.subtract(1.0, f, out=F_f)  # C_{t-1} σ'(A_f)
    F_f *= f
    F_f[0] *= trace.C0
    F_f[1:] *= trace.C[:-1]
    np.multiply(g, g, out=F_g)  # i tanh'(A_g) = i ⊙ (1 − g²)
    np.subtract(1.0, F_g, out=F_g)
    F_g *= i
    Fo = np.subtract(1.0, o, out=workspace("lstm.Fo", trace.C.shape, dtype))  # tanh(C) σ'(A_o)
    Fo *= o
    Fo *= trace.tanhC
    f_contiguous = workspace("lstm.f", trace.C.shape, dtype)
    np.copyto(f_contiguous, f)
    return {"K": K, "F3": F3, "Fo": Fo, "f": f_contiguous}


def backward(
    trace: LSTMTrace,
    params: dict[str, Array],
    dH_out: Array,
    dC_out: Array | None = None,
    truncate: int | None = None,
) -> LayerGrads:
    """BPTT through the layer. dH_out: (T, B, H) gradient reaching H_t from outside the recurrence;
    `truncate` = k cuts the recurrent gradient (of H and C) at steps k, 2k, …, like detaching."""
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    X, H = trace.X, trace.H
    T, B, _ = X.shape
    hidden_size = W_hh.shape[0]
    fac = factors(trace)
    K, F3, Fo, f = fac["K"], fac["F3"], fac["Fo"], fac["f"]
    dH = workspace("lstm.dH", H.shape, H.dtype)
    dC = workspace("lstm.dC", H.shape, H.dtype)
    dA = workspace("lstm.dA", trace.A.shape, H.dtype)
    W_hh_T = np.ascontiguousarray(W_hh.T)
    dH_next = workspace("lstm.dH_next", (B, hidden_size), H.dtype)
    dC_next = workspace("lstm.dC_next", (B, hidden_size), H.dtype)
    dH_next.fill(0.0)
    dC_next.fill(0.0)
    dA4 = dA.reshape(T, B, 4, hidden_size)
    steps = zip(
        range(T - 1, -1, -1),
        *(array[::-1] for array in (dH_out, dH, dC, dA, dA4[:, :, :3], dA4[:, :, 3], K, F3, Fo, f)),
        strict=True,
    )
    for t, dH_out_t, dH_t, dC_t, dA_t, dA_ifg, dA_o, K_t, F3_t, Fo_t, f_t in steps:
        np.add(dH_out_t, dH_next, out=dH_t)
        np.multiply(dH_t, K_t, out=dC_t)  # dL/dC_t = dL/dH_t ⊙ o ⊙ tanh'(C_t) + future
        dC_t += dC_next
        np.multiply(dC_t[:, None, :], F3_t, out=dA_ifg)  # i, f, g
        np.multiply(dH_t, Fo_t, out=dA_o)  # o
        if truncate is not None and t % truncate == 0:
            dH_next.fill(0.0)
            dC_next.fill(0.0)
        else:
            np.dot(dA_t, W_hh_T, out=dH_next)
            np.multiply(dC_t, f_t, out=dC_next)
    grads = weight_grads(X, trace.H0, H, dA, dA)
    dH0 = dA[0] @ W_hh_T
    dC0 = dC[0] * f[0]
    return LayerGrads(grads, dH0, dH, dA, dA, W_xh, dC0=dC0, dC=dC)


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
    dA = np.concatenate(
        [
            (dC_total[:, None, :] * step_factors["F3"][t, b]).reshape(dH.shape[0], -1),
            dH * step_factors["Fo"][t, b],
        ],
        axis=1,
    )
    return dA @ params["W_hh"].T, dC_total * step_factors["f"][t, b]
