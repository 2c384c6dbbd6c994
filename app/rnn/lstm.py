"""The LSTM layer, fast: reference.lstm_forward and lstm_backward over a whole sequence, with
PyTorch's gates in PyTorch's order (i, f, g, o):

    [A_i | A_f | A_g | A_o] = X_t W_xh + H_{t-1} W_hh + b_h          (B, 4H)
    i = σ(A_i)   f = σ(A_f)   g = tanh(A_g)   o = σ(A_o)
    C_t = f ⊙ C_{t-1} + i ⊙ g
    H_t = o ⊙ tanh(C_t)

Pre-activations and gates are kept in the gated cells' layout, (T, 4, B, H) (cells.py); the four
gates of a step come out of one exp (fast.ExpGates).
"""

import functools
from dataclasses import dataclass

import numpy as np

from app.rnn import cancel
from app.rnn.arrays import Array
from app.rnn.cells import GateViews, LayerGrads, Params, gate_major, input_projection, weight_grads
from app.rnn.fast import ExpGates, constant, transposed

GATE_NAMES = ("i", "f", "g", "o")


@dataclass
class LSTMTrace(GateViews):
    """X: (T, B, D); H0, C0: (B, H); A_gates, G_gates: (T, 4, B, H) the gates' pre-activations
    and values, i, f, g, o; C: (T, B, H) cell states; tanhC = tanh(C); H: (T, B, H) states.
    A and G (GateViews): the pre-activations and gates side by side, (T, B, 4H)."""

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


@functools.lru_cache(maxsize=16)
def _exp_gates(hidden_size: int, dtype: np.dtype) -> ExpGates:
    return ExpGates(("sigmoid", "sigmoid", "tanh", "sigmoid"), hidden_size, dtype)


class LSTMCell:
    """The Cell of the LSTM."""

    def forward(self, X: Array, params: Params, H0: Array, C0: Array | None) -> LSTMTrace:
        """X: (T, B, D), H0, C0: (B, H) → trace with gates (T, 4, B, H) and C, H: (T, B, H)."""
        T, B, _ = X.shape
        hidden_size = H0.shape[1]
        C0 = np.zeros_like(H0) if C0 is None else C0
        exp_gates = _exp_gates(hidden_size, X.dtype)
        W_hh = exp_gates.scaled(params["W_hh"])
        W_xh, b_h = exp_gates.scaled(params["W_xh"]), exp_gates.scaled(params["b_h"])
        A = input_projection(X, W_xh, b_h, 4)  # X_t W_xh + b_h (scaled), every t at once
        G = np.empty_like(A)
        C = np.empty((T, B, hidden_size), dtype=X.dtype)
        tanhC = np.empty_like(C)
        H = np.empty_like(C)
        recurrent = np.empty((B, 4 * hidden_size), dtype=X.dtype)
        recurrent_gates = gate_major(recurrent, 4)  # (4, B, H), a view
        i_times_g = np.empty_like(H0)
        one, numerator, shift = exp_gates.one, exp_gates.numerator, exp_gates.shift
        # NumPy's functions as locals, the cheapest names to look up (fast.py says why).
        dot, add, multiply, divide = np.dot, np.add, np.multiply, np.divide
        exp, tanh = np.exp, np.tanh
        H_prev, C_prev = H0, C0
        gates = (G[:, 0], G[:, 1], G[:, 2], G[:, 3])
        steps = zip(A, G, *gates, C, tanhC, H, strict=True)
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for A_t, G_t, i, f, g, o, C_t, tanhC_t, H_t in steps:
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            # reference.lstm_forward: A_t = X_t W_xh + H_{t-1} W_hh + b_h (scaled)
            dot(H_prev, W_hh, out=recurrent)
            add(A_t, recurrent_gates, out=A_t)
            # reference.lstm_forward: i, f, g, o = σ(A_i), σ(A_f), tanh(A_g), σ(A_o) (ExpGates)
            exp(A_t, out=G_t)
            add(G_t, one, out=G_t)
            divide(numerator, G_t, out=G_t)
            add(G_t, shift, out=G_t)
            # reference.lstm_forward: C_t = f ⊙ C_{t-1} + i ⊙ g
            multiply(f, C_prev, out=C_t)
            multiply(i, g, out=i_times_g)
            add(C_t, i_times_g, out=C_t)
            # reference.lstm_forward: H_t = o ⊙ tanh(C_t)
            tanh(C_t, out=tanhC_t)
            multiply(o, tanhC_t, out=H_t)
            H_prev, C_prev = H_t, C_t
        exp_gates.unscaled(A)
        return LSTMTrace(X, H0, C0, A, G, C, tanhC, H)

    def factors(self, trace: LSTMTrace) -> dict[str, Array]:
        """The products reference.lstm_backward multiplies by, for all steps at once.

        F (T, 4, B, H) = [g σ'(A_i), C_{t-1} σ'(A_f), i tanh'(A_g), tanh(C_t) σ'(A_o)] turns
        [dC_t, dC_t, dC_t, dH_t] into [dA_i, dA_f, dA_g, dA_o] in one product; K (T, B, H) =
        o ⊙ (1 − tanh²C_t) carries dH_t into dC_t; f (T, B, H) is the forget gate.
        """
        one = constant(1.0, trace.H.dtype)
        G = trace.G_gates
        i, f, g, o = G[:, 0], G[:, 1], G[:, 2], G[:, 3]
        F = np.subtract(one, G)  # σ' = σ (1 − σ) for i, f, o; the g block is replaced below
        F *= G
        F[:, 0] *= g
        F[0, 1] *= trace.C0  # C_{t-1}
        F[1:, 1] *= trace.C[:-1]
        np.multiply(g, g, out=F[:, 2])  # tanh' = 1 − g²
        np.subtract(one, F[:, 2], out=F[:, 2])
        F[:, 2] *= i
        F[:, 3] *= trace.tanhC
        K = np.multiply(trace.tanhC, trace.tanhC)
        np.subtract(one, K, out=K)
        K *= o
        return {"F": F, "K": K, "f": f}

    def backward(
        self,
        trace: LSTMTrace,
        params: Params,
        dH_out: Array,
        grads_out: Params,
        truncate: int | None,
    ) -> LayerGrads:
        """BPTT through the layer (Cell.backward). Each step fills U_t (4, B, H) = [dC_t, dC_t,
        dC_t, dH_t]; one product with the factors F then gives all four gates' dA."""
        W_hh_T = transposed(params["W_hh"])
        T, B, hidden_size = trace.H.shape
        factors = self.factors(trace)
        U = np.empty((T, 4, B, hidden_size), dtype=trace.H.dtype)
        dA = np.empty((T, B, 4 * hidden_size), dtype=trace.H.dtype)
        dH_next = np.zeros_like(trace.H0)  # dL/dH_t and dL/dC_t through step t + 1
        dC_next = np.zeros_like(trace.H0)
        views = (dH_out, U, U[:, 0], U[:, :1], U[:, 1:3], U[:, 3], dA, gate_major(dA, 4))
        steps = zip(
            range(T - 1, -1, -1),
            *(array[::-1] for array in (*views, factors["K"], factors["F"], factors["f"])),
            strict=True,
        )
        dot, add, multiply, copyto = np.dot, np.add, np.multiply, np.copyto  # as in forward
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for t, dH_out_t, U_t, dC_t, dC_one, dC_copies, dH_t, dA_t, dA_gates_t, K_t, F_t, f in steps:
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            add(dH_out_t, dH_next, out=dH_t)  # reference.backward: dH_t = dH_out,t + dH_next
            # reference.lstm_backward: dC_t = dC_next + dH_t ⊙ o ⊙ (1 − tanh² C_t)
            multiply(dH_t, K_t, out=dC_t)
            add(dC_t, dC_next, out=dC_t)
            # reference.lstm_backward: dA_i, dA_f, dA_g, dA_o = [dC_t, dC_t, dC_t, dH_t] ⊙ F_t
            copyto(dC_copies, dC_one)
            multiply(U_t, F_t, out=dA_gates_t)
            if truncate is not None and t % truncate == 0:
                dH_next.fill(0.0)
                dC_next.fill(0.0)
            else:
                dot(dA_t, W_hh_T, out=dH_next)  # reference.lstm_backward: dH_prev = dA_t W_hhᵀ
                multiply(dC_t, f, out=dC_next)  # reference.lstm_backward: dC_prev = dC_t ⊙ f
        grads = weight_grads(trace.X, trace.H0, trace.H, (dA,), dA, grads_out)
        dC = U[:, 0]
        dH0 = dA[0] @ W_hh_T
        dC0 = dC[0] * factors["f"][0]
        return LayerGrads(grads, dH0, U[:, 3], (dA,), dA, params["W_xh"], dC0=dC0, dC=dC)

    def vjp_step(
        self,
        trace: LSTMTrace,
        params: Params,
        factors: dict[str, Array],
        t: int,
        b: int,
        dH: Array,
        dC: Array | None,
    ) -> tuple[Array, Array]:
        """reference.lstm_backward's dH_prev and dC_prev for sequence b, through the recurrence
        only: rows (dL/dH_t, dL/dC_t) (P, H) ↦ (dL/dH_{t-1}, dL/dC_{t-1})."""
        dC_total = dH * factors["K"][t, b] + (0.0 if dC is None else dC)
        F_t = factors["F"][t, :, b].reshape(-1)
        dA = np.concatenate([dC_total, dC_total, dC_total, dH], axis=1) * F_t
        return dA @ params["W_hh"].T, dC_total * factors["f"][t, b]
