"""The benchmark's naive column: the tutorial loop over app/rnn/reference.py's cells.

One layer, one timestep at a time, the way "RNN from scratch" tutorials (CS231n's rnn_step_forward
and rnn_step_backward, for one) write it: each step's forward call takes its own input projection
X_t W_xh, each step's backward call returns its gradients, dX_t included, and the loop adds the
weight gradients up step by step (dW_hh += H_{t-1}ᵀ dA_t). The cells are the reference's, so the
equations exist once; fresh arrays every step, no per-timestep trace beyond what backward needs.

X: (B, T, D); params: one layer, the engine's names ("layer0.W_xh", …, "W_hq", "b_q").
"""

import numpy as np

from app.rnn import reference
from app.rnn.arrays import Array


def _loss_grad(O: Array, targets: Array, loss: str) -> tuple[float, Array]:
    """Mean loss and dL/dO for O (B, T_out, Q); cross-entropy takes class indices (B, T_out)."""
    if loss == "mse":
        diff = O - targets
        return float(np.mean(diff * diff)), 2.0 * diff / diff.size
    if loss == "bce":
        Y = reference.sigmoid(O)
        value = np.mean(np.maximum(O, 0.0) - O * targets + np.log1p(np.exp(-np.abs(O))))
        return float(value), (Y - targets) / O.size
    if loss == "cross_entropy":
        shifted = O - O.max(axis=-1, keepdims=True)
        E = np.exp(shifted)
        Y = E / E.sum(axis=-1, keepdims=True)
        rows = O.shape[0] * O.shape[1]
        index = np.asarray(targets, dtype=np.intp)[..., None]
        picked = np.take_along_axis(Y, index, axis=-1)
        dO = Y.copy()
        np.put_along_axis(dO, index, picked - 1.0, axis=-1)
        return -float(np.log(picked).sum()) / rows, dO / rows
    raise ValueError(f"unknown loss {loss!r}")


def forward_backward(
    cell: str,
    params: dict[str, Array],
    X: Array,
    targets: Array,
    loss: str,
    output_mode: str = "sequence",
) -> tuple[float, dict[str, Array]]:
    """One forward and one backward pass of a tanh rnn, lstm or gru layer and a linear head;
    returns the loss and the gradients by parameter name."""
    p = {name.removeprefix("layer0."): value for name, value in params.items()}
    B, T, _ = X.shape
    hidden_size = p["W_hh"].shape[0]
    H_prev: Array = np.zeros((B, hidden_size), dtype=X.dtype)
    C_prev: Array = np.zeros_like(H_prev)
    steps: list[reference.Step] = []
    outputs: list[Array] = []
    for t in range(T):
        X_t = X[:, t]
        step: reference.Step
        if cell == "rnn":
            step = reference.elman_forward(X_t, H_prev, p, "tanh")
        elif cell == "lstm":
            step = reference.lstm_forward(X_t, H_prev, C_prev, p)
            C_prev = step.C_t
        else:
            step = reference.gru_forward(X_t, H_prev, p)
        steps.append(step)
        if output_mode == "sequence" or t == T - 1:
            outputs.append(step.H_t @ p["W_hq"] + p["b_q"])
        H_prev = step.H_t
    O = np.stack(outputs, axis=1)
    loss_value, dO = _loss_grad(O, targets if output_mode == "sequence" else targets[:, None], loss)

    grads = {name: np.zeros_like(value) for name, value in p.items()}
    dH_next = np.zeros((B, hidden_size), dtype=X.dtype)
    dC_next = np.zeros_like(dH_next)
    for t in range(T - 1, -1, -1):
        dH_t = dH_next.copy()
        out_index = t if output_mode == "sequence" else t - (T - 1)
        if out_index >= 0:
            dO_t = dO[:, out_index]
            grads["W_hq"] += steps[t].H_t.T @ dO_t
            grads["b_q"] += dO_t.sum(axis=0)
            dH_t += dO_t @ p["W_hq"].T
        s = steps[t]
        if isinstance(s, reference.ElmanStep):
            backward_step = reference.elman_backward(dH_t, s, p, "tanh")
        elif isinstance(s, reference.LSTMStep):
            backward_step = reference.lstm_backward(dH_t, dC_next, s, p)
        else:
            backward_step = reference.gru_backward(dH_t, s, p)
        for name, contribution in backward_step.params.items():
            grads[name] += contribution
        dH_next = backward_step.dH_prev
        if backward_step.dC_prev is not None:
            dC_next = backward_step.dC_prev
    return loss_value, {
        name if name in ("W_hq", "b_q") else f"layer0.{name}": grad for name, grad in grads.items()
    }
