"""The GRU layer, fast: reference.gru_forward and gru_backward over a whole sequence, with
PyTorch's gates in PyTorch's order (r, z, n):

    [A_r | A_z] = X_t W_xh[:, :2H] + H_{t-1} W_hh[:, :2H] + b_h[:2H]
    r = σ(A_r)   z = σ(A_z)
    N_t = H_{t-1} W_hh[:, 2H:] + b_hn                     (the candidate's recurrent term)
    A_n = X_t W_xh[:, 2H:] + b_h[2H:] + r ⊙ N_t
    n = tanh(A_n)
    H_t = (1 − z) ⊙ n + z ⊙ H_{t-1}

Unlike the d2l book's GRU, the reset gate multiplies the recurrent product *after* it is taken and
b_hn stays inside that product, as in PyTorch: b_h (3H,) = [b_ir + b_hr | b_iz + b_hz | b_in] and
b_hn (H,) is PyTorch's bias_hh's last block. Pre-activations and gates are kept in the gated
cells' layout, (T, 3, B, H) (cells.py); r and z come out of one exp (fast.ExpGates).
"""

import functools
from dataclasses import dataclass

import numpy as np

from app.rnn import cancel
from app.rnn.arrays import Array
from app.rnn.cells import GateViews, LayerGrads, Params, gate_major, input_projection, weight_grads
from app.rnn.fast import ExpGates, constant, transposed

GATE_NAMES = ("r", "z", "n")


@dataclass
class GRUTrace(GateViews):
    """X: (T, B, D); H0: (B, H); A_gates: (T, 3, B, H) pre-activations A_r, A_z, A_n; G_gates:
    (T, 3, B, H) gate values r, z, n; N: (T, B, H) the candidate's recurrent term
    H_{t-1} W_hn + b_hn; H: (T, B, H) states. A and G (GateViews): the same side by side,
    (T, B, 3H)."""

    X: Array
    H0: Array
    A_gates: Array
    G_gates: Array
    N: Array
    H: Array
    C: None = None

    def gates(self) -> dict[str, Array]:
        return {name: self.G_gates[:, k] for k, name in enumerate(GATE_NAMES)}


@functools.lru_cache(maxsize=16)
def _exp_gates(hidden_size: int, dtype: np.dtype) -> ExpGates:
    return ExpGates(("sigmoid", "sigmoid", None), hidden_size, dtype)


class GRUCell:
    """The Cell of the GRU."""

    def forward(self, X: Array, params: Params, H0: Array, C0: Array | None) -> GRUTrace:
        """X: (T, B, D), H0: (B, H) → trace with gates (T, 3, B, H) and N, H: (T, B, H)."""
        T, B, _ = X.shape
        hidden_size = H0.shape[1]
        b_hn = params["b_hn"]
        exp_gates = _exp_gates(hidden_size, X.dtype)
        W_hh = exp_gates.scaled(params["W_hh"])
        W_xh, b_h = exp_gates.scaled(params["W_xh"]), exp_gates.scaled(params["b_h"])
        A = input_projection(X, W_xh, b_h, 3)  # X_t W_xh + b_h (r, z scaled), every t at once
        G = np.empty_like(A)
        N = np.empty((T, B, hidden_size), dtype=X.dtype)
        H = np.empty_like(N)
        recurrent = np.empty((B, 3 * hidden_size), dtype=X.dtype)
        recurrent_gates = gate_major(recurrent, 3)  # (3, B, H), a view
        recurrent_rz, recurrent_n = recurrent_gates[:2], recurrent_gates[2]
        scratch = np.empty_like(H0)
        one = exp_gates.one
        # NumPy's functions as locals, the cheapest names to look up (fast.py says why).
        dot, add, subtract, multiply = np.dot, np.add, np.subtract, np.multiply
        exp, reciprocal, tanh = np.exp, np.reciprocal, np.tanh
        H_prev = H0
        gates = (G[:, :2], G[:, 0], G[:, 1], G[:, 2])
        steps = zip(A[:, :2], A[:, 2], *gates, N, H, strict=True)
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for A_rz_t, A_n_t, G_rz_t, r, z, n, N_t, H_t in steps:
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            # reference.gru_forward: A_r, A_z = X_t W_xr + H_{t-1} W_hr + b_r, … (scaled)
            dot(H_prev, W_hh, out=recurrent)
            add(A_rz_t, recurrent_rz, out=A_rz_t)
            # reference.gru_forward: r, z = σ(A_r), σ(A_z) (ExpGates)
            exp(A_rz_t, out=G_rz_t)
            add(G_rz_t, one, out=G_rz_t)
            reciprocal(G_rz_t, out=G_rz_t)
            add(recurrent_n, b_hn, out=N_t)  # reference.gru_forward: N_t = H_{t-1} W_hn + b_hn
            # reference.gru_forward: A_n = X_t W_xn + b_n + r ⊙ N_t; n = tanh(A_n)
            multiply(r, N_t, out=scratch)
            add(A_n_t, scratch, out=A_n_t)
            tanh(A_n_t, out=n)
            # reference.gru_forward: H_t = (1 − z) ⊙ n + z ⊙ H_{t-1}, as n + z ⊙ (H_{t-1} − n)
            subtract(H_prev, n, out=scratch)
            multiply(scratch, z, out=scratch)
            add(n, scratch, out=H_t)
            H_prev = H_t
        exp_gates.unscaled(A)
        return GRUTrace(X, H0, A, G, N, H)

    def factors(self, trace: GRUTrace) -> dict[str, Array]:
        """The products reference.gru_backward multiplies by, for all steps at once.

        Fn (T, B, H) = (1 − z) ⊙ (1 − n²) gives dA_n = dH_t ⊙ Fn; F (T, 3, B, H) =
        [N_t ⊙ σ'(A_r), (H_{t-1} − n) ⊙ σ'(A_z), r] turns [dA_n, dH_t, dA_n] into
        [dA_r, dA_z, dN_t], the gradient of the recurrent side, in one product; z (T, B, H).
        """
        one = constant(1.0, trace.H.dtype)
        G = trace.G_gates
        r, z, n = G[:, 0], G[:, 1], G[:, 2]
        Fn = np.multiply(n, n)
        np.subtract(one, Fn, out=Fn)
        Fn *= np.subtract(one, z)
        F = np.empty_like(G)
        np.subtract(one, G[:, :2], out=F[:, :2])  # σ' = σ (1 − σ) for r and z
        F[:, :2] *= G[:, :2]
        F[:, 0] *= trace.N
        H_prev_minus_n = F[:, 2]  # scratch until r is copied in
        np.subtract(trace.H0, n[0], out=H_prev_minus_n[0])
        np.subtract(trace.H[:-1], n[1:], out=H_prev_minus_n[1:])
        F[:, 1] *= H_prev_minus_n
        np.copyto(F[:, 2], r)
        return {"Fn": Fn, "F": F, "z": z}

    def backward(
        self,
        trace: GRUTrace,
        params: Params,
        dH_out: Array,
        grads_out: Params,
        truncate: int | None,
    ) -> LayerGrads:
        """BPTT through the layer (Cell.backward). dA_x, the gradient of the input side
        X_t W_xh + b_h, and dA_h, that of the recurrent side H_{t-1} W_hh (+ b_hn), differ in the
        n block only (dA_n against dN_t = dA_n ⊙ r). Each step fills V_t (3, B, H) =
        [dA_n, dH_t, dA_n]; one product with the factors F then gives dA_h of the step."""
        W_hh_T = transposed(params["W_hh"])
        T, B, hidden_size = trace.H.shape
        factors = self.factors(trace)
        V = np.empty((T, 3, B, hidden_size), dtype=trace.H.dtype)
        dA_h = np.empty((T, B, 3 * hidden_size), dtype=trace.H.dtype)
        dH_next = np.zeros_like(trace.H0)  # dL/dH_t through step t + 1
        direct = np.empty_like(trace.H0)
        views = (dH_out, V, V[:, 0], V[:, 1], V[:, 2], dA_h, gate_major(dA_h, 3))
        steps = zip(
            range(T - 1, -1, -1),
            *(array[::-1] for array in (*views, factors["Fn"], factors["F"], factors["z"])),
            strict=True,
        )
        dot, add, multiply, copyto = np.dot, np.add, np.multiply, np.copyto  # as in forward
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for t, dH_out_t, V_t, dA_n, dH_t, dA_n_copy, dA_h_t, dA_h_gates_t, Fn_t, F_t, z in steps:
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            add(dH_out_t, dH_next, out=dH_t)  # reference.backward: dH_t = dH_out,t + dH_next
            multiply(dH_t, Fn_t, out=dA_n)  # reference.gru_backward: dA_n
            # reference.gru_backward: dA_r, dA_z, dN_t = [dA_n, dH_t, dA_n] ⊙ F_t
            copyto(dA_n_copy, dA_n)
            multiply(V_t, F_t, out=dA_h_gates_t)
            if truncate is not None and t % truncate == 0:
                dH_next.fill(0.0)
            else:
                # reference.gru_backward: dH_prev = dA_h W_hhᵀ + dH_t ⊙ z
                dot(dA_h_t, W_hh_T, out=dH_next)
                multiply(dH_t, z, out=direct)
                add(dH_next, direct, out=dH_next)
        dA_x_blocks = (dA_h[:, :, : 2 * hidden_size], V[:, 0])  # r, z as in dA_h; then dA_n
        grads = weight_grads(trace.X, trace.H0, trace.H, dA_x_blocks, dA_h, grads_out)
        dN = dA_h[:, :, 2 * hidden_size :].reshape(T * B, hidden_size)
        grads["b_hn"] = np.add.reduce(dN, axis=0, out=grads_out["b_hn"])
        dH0 = dA_h[0] @ W_hh_T + V[0, 1] * factors["z"][0]
        return LayerGrads(grads, dH0, V[:, 1], dA_x_blocks, dA_h, params["W_xh"])

    def vjp_step(
        self,
        trace: GRUTrace,
        params: Params,
        factors: dict[str, Array],
        t: int,
        b: int,
        dH: Array,
        dC: Array | None,
    ) -> tuple[Array, None]:
        """reference.gru_backward's dH_prev for sequence b: rows (P, H) ↦ rows (P, H)."""
        dA_n = dH * factors["Fn"][t, b]
        dA_h = np.concatenate([dA_n, dH, dA_n], axis=1) * factors["F"][t, :, b].reshape(-1)
        return dA_h @ params["W_hh"].T + dH * factors["z"][t, b], None
