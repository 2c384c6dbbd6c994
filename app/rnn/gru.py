"""The GRU layer, with PyTorch's gate equations and gate order (r, z, n):

    [A_r | A_z] = X_t W_xh[:, :2H] + H_{t-1} W_hh[:, :2H] + b_h[:2H]
    r = σ(A_r)   z = σ(A_z)
    N_t = H_{t-1} W_hh[:, 2H:] + b_hn                     (the candidate's recurrent term)
    A_n = X_t W_xh[:, 2H:] + b_h[2H:] + r ⊙ N_t
    n = tanh(A_n)
    H_t = (1 − z) ⊙ n + z ⊙ H_{t-1}

Unlike the d2l book's GRU, the reset gate multiplies the recurrent product *after* it is taken and
b_hn stays inside that product, as in PyTorch: b_h (3H,) = [b_ir + b_hr | b_iz + b_hz | b_in] and
b_hn (H,) is PyTorch's bias_hh's last block. Arrays inside the layer are time-major, (T, B, ·).
"""

from dataclasses import dataclass

import numpy as np

from app.rnn.activations import tanh
from app.rnn.arrays import Array, workspace
from app.rnn.layer import LayerGrads, weight_grads

GATE_NAMES = ("r", "z", "n")


@dataclass
class GRUTrace:
    """X: (T, B, D); H0: (B, H); A: (T, B, 3H) pre-activations [A_r | A_z | A_n];
    G: (T, B, 3H) gate values [r | z | n]; N: (T, B, H) the candidate's recurrent term
    H_{t-1} W_hn + b_hn; H: (T, B, H) hidden states."""

    X: Array
    H0: Array
    A: Array
    G: Array
    N: Array
    H: Array

    def gates(self) -> dict[str, Array]:
        hidden_size = self.H.shape[2]
        return {
            name: self.G[:, :, k * hidden_size : (k + 1) * hidden_size]
            for k, name in enumerate(GATE_NAMES)
        }


def init_state(B: int, hidden_size: int, dtype: np.dtype) -> tuple[Array, None]:
    return np.zeros((B, hidden_size), dtype=dtype), None


def forward(
    X: Array, params: dict[str, Array], H0: Array, C0: None = None, nonlinearity: str = "tanh"
) -> GRUTrace:
    """X: (T, B, D), H0: (B, H) → trace with gates (T, B, 3H) and H: (T, B, H)."""
    W_xh, W_hh, b_h, b_hn = params["W_xh"], params["W_hh"], params["b_h"], params["b_hn"]
    T, B, D = X.shape
    hidden_size = W_hh.shape[0]
    rz = slice(0, 2 * hidden_size)
    n_cols = slice(2 * hidden_size, 3 * hidden_size)
    # σ(a) = 1 / (1 + e^(−a)): negate the r and z columns once, then one exp serves both gates
    # (activations.py says why exp rather than tanh).
    scale = np.ones(3 * hidden_size, dtype=X.dtype)
    scale[rz] = -1.0
    A = workspace("gru.A", (T, B, 3 * hidden_size), X.dtype)
    np.matmul(X.reshape(T * B, D), W_xh * scale, out=A.reshape(T * B, 3 * hidden_size))
    A += b_h * scale
    W_hh_scaled = W_hh * scale
    G = workspace("gru.G", A.shape, X.dtype)
    N = workspace("gru.N", (T, B, hidden_size), X.dtype)
    H = workspace("gru.H", N.shape, X.dtype)
    recurrent = workspace("gru.recurrent", (B, 3 * hidden_size), X.dtype)
    scratch = workspace("gru.scratch", (B, hidden_size), X.dtype)
    H_prev = H0
    for t in range(T):
        At, Gt = A[t], G[t]
        np.dot(H_prev, W_hh_scaled, out=recurrent)
        A_rz, G_rz, G_n = At[:, rz], Gt[:, rz], Gt[:, n_cols]
        A_rz += recurrent[:, rz]
        np.exp(A_rz, out=G_rz)
        G_rz += 1.0
        np.reciprocal(G_rz, out=G_rz)  # r, z = σ(A_r), σ(A_z)
        np.add(recurrent[:, n_cols], b_hn, out=N[t])  # N_t = H_{t-1} W_hn + b_hn
        np.multiply(Gt[:, :hidden_size], N[t], out=scratch)
        A_n = At[:, n_cols]
        A_n += scratch  # A_n = X_t W_in + b_in + r ⊙ N_t
        tanh(A_n, out=G_n)
        np.subtract(H_prev, G_n, out=scratch)  # H_t = n + z ⊙ (H_{t-1} − n)
        scratch *= Gt[:, hidden_size : 2 * hidden_size]
        np.add(G_n, scratch, out=H[t])
        H_prev = H[t]
    A[:, :, rz] *= -1.0
    return GRUTrace(X, H0, A, G, N, H)


def factors(trace: GRUTrace) -> dict[str, Array]:
    """Per-step products for backward, for all steps at once: dL/dA_n = dL/dH_t ⊙ Fn,
    dL/dA_z = dL/dH_t ⊙ Fz, dL/dA_r = dL/dA_n ⊙ Fr, and z for the direct path H_{t-1} → H_t."""
    hidden_size = trace.H.shape[2]
    T, B = trace.H.shape[:2]
    G3 = trace.G.reshape(T, B, 3, hidden_size)
    r, z, n = G3[:, :, 0], G3[:, :, 1], G3[:, :, 2]
    shape, dtype = trace.H.shape, trace.H.dtype
    one_minus_z = np.subtract(1.0, z, out=workspace("gru.one_minus_z", shape, dtype))
    Fn = np.multiply(n, n, out=workspace("gru.Fn", shape, dtype))  # (1 − z) ⊙ (1 − n²)
    np.subtract(1.0, Fn, out=Fn)
    Fn *= one_minus_z
    Fz = workspace("gru.Fz", shape, dtype)  # (H_{t-1} − n) ⊙ z ⊙ (1 − z)
    np.subtract(trace.H0, n[0], out=Fz[0])
    np.subtract(trace.H[:-1], n[1:], out=Fz[1:])
    Fz *= z
    Fz *= one_minus_z
    Fr = np.subtract(1.0, r, out=workspace("gru.Fr", shape, dtype))  # N ⊙ r ⊙ (1 − r)
    Fr *= r
    Fr *= trace.N
    r_contiguous, z_contiguous = workspace("gru.r", shape, dtype), workspace("gru.z", shape, dtype)
    np.copyto(r_contiguous, r)
    np.copyto(z_contiguous, z)
    return {"Fn": Fn, "Fz": Fz, "Fr": Fr, "r": r_contiguous, "z": z_contiguous}


def backward(
    trace: GRUTrace,
    params: dict[str, Array],
    dH_out: Array,
    dC_out: None = None,
    truncate: int | None = None,
) -> LayerGrads:
    """BPTT through the layer. dH_out: (T, B, H) gradient reaching H_t from outside the recurrence.

    dA_x (T, B, 3H) is the gradient of the input-side pre-activation X_t W_xh + b_h; dA_h (T, B, 3H)
    that of the recurrent product H_{t-1} W_hh (+ b_hn): they differ in the n block by the factor r.
    """
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    X, H = trace.X, trace.H
    T, B, _ = X.shape
    hidden_size = W_hh.shape[0]
    fac = factors(trace)
    Fn, Fz, Fr, r, z = fac["Fn"], fac["Fz"], fac["Fr"], fac["r"], fac["z"]
    dH = workspace("gru.dH", H.shape, H.dtype)
    dA_x = workspace("gru.dA_x", trace.A.shape, H.dtype)
    dA_h = workspace("gru.dA_h", trace.A.shape, H.dtype)
    W_hh_T = np.ascontiguousarray(W_hh.T)
    dH_next = workspace("gru.dH_next", (B, hidden_size), H.dtype)
    dH_next.fill(0.0)
    direct = workspace("gru.direct", (B, hidden_size), H.dtype)
    r_cols = slice(0, hidden_size)
    z_cols = slice(hidden_size, 2 * hidden_size)
    n_cols = slice(2 * hidden_size, 3 * hidden_size)
    rz = slice(0, 2 * hidden_size)
    dA_n = dA_x[:, :, n_cols]  # dL/dA_n lives in dA_x; its r and z blocks are dA_h's
    for t in range(T - 1, -1, -1):
        np.add(dH_out[t], dH_next, out=dH[t])
        np.multiply(dH[t], Fn[t], out=dA_n[t])
        np.multiply(dH[t], Fz[t], out=dA_h[t][:, z_cols])
        np.multiply(dA_n[t], Fr[t], out=dA_h[t][:, r_cols])
        np.multiply(dA_n[t], r[t], out=dA_h[t][:, n_cols])  # dL/dN_t = dL/dA_n ⊙ r
        if truncate is not None and t % truncate == 0:
            dH_next.fill(0.0)
        else:
            np.dot(dA_h[t], W_hh_T, out=dH_next)
            np.multiply(dH[t], z[t], out=direct)  # the direct path z ⊙ H_{t-1}
            dH_next += direct
    dA_x[:, :, rz] = dA_h[:, :, rz]
    grads = weight_grads(X, trace.H0, H, dA_x, dA_h)
    grads["b_hn"] = dA_h[:, :, n_cols].sum(axis=(0, 1))
    dH0 = dA_h[0] @ W_hh_T + dH[0] * z[0]
    return LayerGrads(grads, dH0, dH, dA_x, dA_h, W_xh)


def vjp_step(
    trace: GRUTrace,
    params: dict[str, Array],
    step_factors: dict[str, Array],
    t: int,
    b: int,
    dH: Array,
    dC: None,
) -> tuple[Array, None]:
    """One step backwards for sequence b: rows of dL/dH_t (P, H) ↦ dL/dH_{t-1} (P, H)."""
    dA_n = dH * step_factors["Fn"][t, b]
    dA_h = np.concatenate(
        [
            dA_n * step_factors["Fr"][t, b],
            dH * step_factors["Fz"][t, b],
            dA_n * step_factors["r"][t, b],
        ],
        axis=1,
    )
    return dA_h @ params["W_hh"].T + dH * step_factors["z"][t, b], None
