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

Speed: the pre-activations and gates are stored gate-major, (3, T, B, H), so that every gate of
every step is one contiguous (B, H) block: with a batch, NumPy runs an element-wise call over a
contiguous block several times faster than over the strided columns of (B, 3H) rows. The trace
indexes them (T, 3, B, H), as the LSTM's, and offers them as (T, B, 3H), PyTorch's column order,
formed when first read.
"""

import functools
from dataclasses import dataclass

import numpy as np

from app.rnn.activations import tanh
from app.rnn.arrays import Array, constant, workspace
from app.rnn.layer import GateViews, LayerGrads, weight_grads

GATE_NAMES = ("r", "z", "n")


@dataclass
class GRUTrace(GateViews):
    """X: (T, B, D); H0: (B, H); A_gates: (T, 3, B, H) pre-activations A_r, A_z, A_n (a view of
    gate-major storage); G_gates: (T, 3, B, H) gate values r, z, n; N: (T, B, H) the candidate's
    recurrent term H_{t-1} W_hn + b_hn; H: (T, B, H) hidden states. A and G (GateViews): the same
    side by side, (T, B, 3H)."""

    X: Array
    H0: Array
    A_gates: Array
    G_gates: Array
    N: Array
    H: Array

    def gates(self) -> dict[str, Array]:
        return {name: self.G_gates[:, k] for k, name in enumerate(GATE_NAMES)}


def init_state(B: int, hidden_size: int, dtype: np.dtype) -> tuple[Array, None]:
    return np.zeros((B, hidden_size), dtype=dtype), None


def forward(
    X: Array, params: dict[str, Array], H0: Array, C0: None = None, nonlinearity: str = "tanh"
) -> GRUTrace:
    """X: (T, B, D), H0: (B, H) → trace with gates (T, 3, B, H) and H: (T, B, H)."""
    W_xh, W_hh, b_h, b_hn = params["W_xh"], params["W_hh"], params["b_h"], params["b_hn"]
    T, B, D = X.shape
    hidden_size = W_hh.shape[0]
    dtype = X.dtype
    # σ(a) = 1 / (1 + e^(−a)): negate the r and z columns once, then one exp serves both gates
    # (activations.py says why exp rather than tanh).
    scale = _scale(hidden_size, dtype)
    A = workspace("gru.A", (3, T, B, hidden_size), dtype)
    X_flat = X.reshape(T * B, D)
    W_xh_scaled = np.multiply(W_xh, scale, out=workspace("gru.W_xh_scaled", W_xh.shape, dtype))
    b_h_scaled = b_h * scale
    for k in range(3):
        columns = slice(k * hidden_size, (k + 1) * hidden_size)
        A_k = A[k].reshape(T * B, hidden_size)
        np.dot(X_flat, W_xh_scaled[:, columns], out=A_k)
        A_k += b_h_scaled[columns]
    W_hh_scaled = np.multiply(W_hh, scale, out=workspace("gru.W_hh_scaled", W_hh.shape, dtype))
    G = workspace("gru.G", A.shape, dtype)
    N = workspace("gru.N", (T, B, hidden_size), dtype)
    H = workspace("gru.H", N.shape, dtype)
    recurrent = workspace("gru.recurrent", (B, 3 * hidden_size), dtype)
    recurrent_gates = recurrent.reshape(B, 3, hidden_size).transpose(1, 0, 2)  # (3, B, H)
    recurrent_rz, recurrent_n = recurrent_gates[:2], recurrent_gates[2]
    b_hn_rows = workspace("gru.b_hn_rows", (B, hidden_size), dtype)  # an operand of N_t's shape
    b_hn_rows[...] = b_hn
    scratch = workspace("gru.scratch", (B, hidden_size), dtype)
    one = constant(1.0, dtype)
    dot, add, subtract, multiply, exp, reciprocal = (
        np.dot,
        np.add,
        np.subtract,
        np.multiply,
        np.exp,
        np.reciprocal,
    )
    A_rz, G_rz = A[:2].transpose(1, 0, 2, 3), G[:2].transpose(1, 0, 2, 3)  # (T, 2, B, H)
    steps = zip(A_rz, A[2], G_rz, G[0], G[1], G[2], N, H, strict=True)
    H_prev = H0
    for A_rz_t, A_n_t, G_rz_t, r, z, n, N_t, H_t in steps:
        dot(H_prev, W_hh_scaled, out=recurrent)
        add(A_rz_t, recurrent_rz, out=A_rz_t)
        exp(A_rz_t, out=G_rz_t)
        add(G_rz_t, one, out=G_rz_t)
        reciprocal(G_rz_t, out=G_rz_t)  # r, z = σ(A_r), σ(A_z)
        add(recurrent_n, b_hn_rows, out=N_t)  # N_t = H_{t-1} W_hn + b_hn
        multiply(r, N_t, out=scratch)
        add(A_n_t, scratch, out=A_n_t)  # A_n = X_t W_in + b_in + r ⊙ N_t
        tanh(A_n_t, out=n)
        subtract(H_prev, n, out=scratch)  # H_t = n + z ⊙ (H_{t-1} − n)
        multiply(scratch, z, out=scratch)
        add(n, scratch, out=H_t)
        H_prev = H_t
    np.negative(A[:2], out=A[:2])
    return GRUTrace(X, H0, A.transpose(1, 0, 2, 3), G.transpose(1, 0, 2, 3), N, H)


@functools.lru_cache(maxsize=16)
def _scale(hidden_size: int, dtype: np.dtype) -> Array:
    """(3H,): −1 over the r and z columns, 1 over n. Read-only."""
    scale = np.ones(3 * hidden_size, dtype=dtype)
    scale[: 2 * hidden_size] = -1.0
    scale.setflags(write=False)
    return scale


def factors(trace: GRUTrace) -> dict[str, Array]:
    """Per-step products for backward, for all steps at once.

    Fn (T, B, H) = (1 − z) ⊙ (1 − n²) gives dL/dA_n = dL/dH_t ⊙ Fn; F (3, T, B, H) =
    [N ⊙ σ'_r, (H_{t-1} − n) ⊙ σ'_z, r] turns [dL/dA_n, dL/dH_t, dL/dA_n] into the gradient of
    the recurrent product, [dL/dA_r, dL/dA_z, dL/dN_t], in one product.
    """
    shape, dtype = trace.H.shape, trace.H.dtype
    one = constant(1.0, dtype)
    G = trace.G_gates.transpose(1, 0, 2, 3)  # the gate-major storage, (3, T, B, H)
    r, z, n = G
    Fn = np.multiply(n, n, out=workspace("gru.Fn", shape, dtype))
    np.subtract(one, Fn, out=Fn)
    one_minus_z = np.subtract(one, z, out=workspace("gru.one_minus_z", shape, dtype))
    Fn *= one_minus_z
    F = workspace("gru.F", G.shape, dtype)
    np.subtract(one, G[:2], out=F[:2])  # σ' = σ (1 − σ) for r and z
    F[:2] *= G[:2]
    F[0] *= trace.N
    H_prev_minus_n = F[2]  # scratch until r is copied in
    np.subtract(trace.H0, n[0], out=H_prev_minus_n[0])
    np.subtract(trace.H[:-1], n[1:], out=H_prev_minus_n[1:])
    F[1] *= H_prev_minus_n
    np.copyto(F[2], r)
    return {"Fn": Fn, "F": F, "z": z}


def backward(
    trace: GRUTrace,
    params: dict[str, Array],
    dH_out: Array,
    grads_out: dict[str, Array],
    truncate: int | None = None,
) -> LayerGrads:
    """BPTT through the layer. dH_out: (T, B, H) gradient reaching H_t from outside the recurrence.

    dA_x (T, B, 3H) is the gradient of the input-side pre-activation X_t W_xh + b_h; dA_h (T, B, 3H)
    that of the recurrent product H_{t-1} W_hh (+ b_hn): they differ in the n block by the factor r.
    Each step fills V_t (3, B, H) = [dL/dA_n, dL/dH_t, dL/dA_n]; one product with the factors F
    then gives dA_h,t. `grads_out`: arrays, by parameter name, to write the parameter gradients
    into.
    """
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    X, H = trace.X, trace.H
    T, B, _ = X.shape
    hidden_size = W_hh.shape[0]
    width = 3 * hidden_size
    dtype = H.dtype
    fac = factors(trace)
    Fn, F, z = fac["Fn"], fac["F"], fac["z"]
    V = workspace("gru.V", (3, T, B, hidden_size), dtype)
    dA_h = workspace("gru.dA_h", (T, B, width), dtype)
    W_hh_T = workspace("gru.W_hh_T", (width, hidden_size), dtype)
    np.copyto(W_hh_T, W_hh.T)
    dH_next = workspace("gru.dH_next", (B, hidden_size), dtype)
    dH_next.fill(0.0)
    direct = workspace("gru.direct", (B, hidden_size), dtype)
    dot, add, multiply, copyto = np.dot, np.add, np.multiply, np.copyto
    gate_major = (2, 0, 1, 3)  # (T, B, 3, H) → (3, T, B, H), a view
    dA_h_gates = dA_h.reshape(T, B, 3, hidden_size).transpose(gate_major)
    steps = zip(
        range(T - 1, -1, -1),
        *(
            array[::-1]
            for array in (
                dH_out,
                V.transpose(1, 0, 2, 3),
                V[0],
                V[1],
                V[2],
                dA_h,
                dA_h_gates.transpose(1, 0, 2, 3),
                Fn,
                F.transpose(1, 0, 2, 3),
                z,
            )
        ),
        strict=True,
    )
    for t, dH_out_t, V_t, dA_n_t, dH_t, dA_n_copy, dA_h_t, dA_h_gates_t, Fn_t, F_t, z_t in steps:
        add(dH_out_t, dH_next, out=dH_t)
        multiply(dH_t, Fn_t, out=dA_n_t)  # dL/dA_n
        copyto(dA_n_copy, dA_n_t)
        multiply(V_t, F_t, out=dA_h_gates_t)  # dL/dA_r, dL/dA_z, dL/dN_t = dL/dA_n ⊙ r
        if truncate is not None and t % truncate == 0:
            dH_next.fill(0.0)
        else:
            dot(dA_h_t, W_hh_T, out=dH_next)
            multiply(dH_t, z_t, out=direct)  # the direct path z ⊙ H_{t-1}
            add(dH_next, direct, out=dH_next)
    dA_x_blocks = (dA_h[:, :, : 2 * hidden_size], V[0])  # r, z as in dA_h; then dL/dA_n
    grads = weight_grads(X, trace.H0, H, dA_x_blocks, dA_h, grads_out)
    grads["b_hn"] = np.add.reduce(
        dA_h[:, :, 2 * hidden_size :].reshape(T * B, -1),
        axis=0,
        out=grads_out["b_hn"],
    )
    dH0 = np.dot(dA_h[0], W_hh_T) + V[1, 0] * z[0]
    return LayerGrads(grads, dH0, V[1], dA_x_blocks, dA_h, W_xh)


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
    dA_h = np.concatenate([dA_n, dH, dA_n], axis=1) * step_factors["F"][:, t, b].reshape(-1)
    return dA_h @ params["W_hh"].T + dH * step_factors["z"][t, b], None
