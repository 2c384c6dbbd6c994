"""The vanilla (Elman) RNN layer, fast: reference.elman_forward and elman_backward over a whole
sequence, H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h).

Arrays are time-major, (T, B, ·). The input projection of all timesteps is one matrix product;
only the recurrence is a loop, of three NumPy calls a step each way.
"""

from dataclasses import dataclass

import numpy as np

from app.rnn import activations, cancel
from app.rnn.arrays import Array
from app.rnn.cells import LayerGrads, Params, input_projection, weight_grads
from app.rnn.fast import transposed


@dataclass
class ElmanTrace:
    """X: (T, B, D) inputs; H0: (B, H); A: (T, B, H) pre-activations; H: (T, B, H) states."""

    nonlinearity: str
    X: Array
    H0: Array
    A: Array
    H: Array
    C: None = None

    def gates(self) -> dict[str, Array]:
        return {}


class ElmanCell:
    """The Cell of the vanilla RNN with nonlinearity φ (tanh, sigmoid, relu or identity)."""

    def __init__(self, nonlinearity: str) -> None:
        self.nonlinearity = nonlinearity

    def forward(self, X: Array, params: Params, H0: Array, C0: Array | None) -> ElmanTrace:
        """X: (T, B, D), H0: (B, H) → trace with A, H: (T, B, H)."""
        W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
        A = input_projection(X, W_xh, b_h, 1)[:, 0]  # X_t W_xh + b_h, every t at once
        H = np.empty_like(A)
        recurrent = np.empty_like(H0)
        phi = activations.FORWARD[self.nonlinearity]
        # NumPy's functions as locals, the cheapest names to look up (fast.py says why).
        dot, add = np.dot, np.add
        H_prev = H0
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for A_t, H_t in zip(A, H, strict=True):
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            dot(H_prev, W_hh, out=recurrent)
            add(A_t, recurrent, out=A_t)  # reference.elman_forward: A_t = X_t W_xh + … + b_h
            phi(A_t, out=H_t)  # reference.elman_forward: H_t = φ(A_t)
            H_prev = H_t
        return ElmanTrace(self.nonlinearity, X, H0, A, H)

    def factors(self, trace: ElmanTrace) -> dict[str, Array]:
        """φ'(A_t) (T, B, H), for all steps at once."""
        return {"dphi": activations.derivative(self.nonlinearity, trace.A, trace.H)}

    def backward(
        self,
        trace: ElmanTrace,
        params: Params,
        dH_out: Array,
        grads_out: Params,
        truncate: int | None,
    ) -> LayerGrads:
        """BPTT through the layer (Cell.backward)."""
        W_hh_T = transposed(params["W_hh"])
        dphi = self.factors(trace)["dphi"]
        dH = np.empty_like(trace.H)
        dA = np.empty_like(trace.H)
        dH_next = np.zeros_like(trace.H0)  # dL/dH_t through step t + 1
        T = dH.shape[0]
        steps = zip(range(T - 1, -1, -1), dH_out[::-1], dH[::-1], dA[::-1], dphi[::-1], strict=True)
        dot, add, multiply = np.dot, np.add, np.multiply  # as in forward
        should_stop = cancel.current()  # a caller that may ask this pass to give way
        for t, dH_out_t, dH_t, dA_t, dphi_t in steps:
            if should_stop is not None and should_stop():
                raise cancel.stopped()
            add(dH_out_t, dH_next, out=dH_t)  # reference.backward: dH_t = dH_out,t + dH_next
            multiply(dH_t, dphi_t, out=dA_t)  # reference.elman_backward: dA_t = dH_t ⊙ φ'(A_t)
            if truncate is not None and t % truncate == 0:
                dH_next.fill(0.0)
            else:
                dot(dA_t, W_hh_T, out=dH_next)  # reference.elman_backward: dH_prev = dA_t W_hhᵀ
        grads = weight_grads(trace.X, trace.H0, trace.H, (dA,), dA, grads_out)
        dH0 = dA[0] @ W_hh_T
        return LayerGrads(grads, dH0, dH, (dA,), dA, params["W_xh"])

    def vjp_step(
        self,
        trace: ElmanTrace,
        params: Params,
        factors: dict[str, Array],
        t: int,
        b: int,
        dH: Array,
        dC: Array | None,
    ) -> tuple[Array, None]:
        """reference.elman_backward's dH_prev for sequence b: rows (P, H) ↦ rows (P, H)."""
        return (dH * factors["dphi"][t, b]) @ params["W_hh"].T, None
