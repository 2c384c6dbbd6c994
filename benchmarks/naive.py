"""A naive, tutorial-style RNN/LSTM/GRU forward + BPTT: the baseline the engine is measured against.

Everything happens one timestep at a time, the way most "RNN from scratch" tutorials write it:
the input projection X_t W_xh is taken inside the loop, and the weight gradients are accumulated
step by step inside the backward loop (dW_hh += H_{t-1}ᵀ dA_t). Same equations, names and row
convention as app/rnn (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n with b_hn inside the
reset product). No per-timestep trace is kept beyond what backward needs.

X: (B, T, D); params: one layer, the engine's names ("layer0.W_xh", …, "W_hq", "b_q").
"""

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


def sigmoid(A: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-A))


def _loss_grad(O: Array, targets: Array, loss: str) -> tuple[float, Array]:
    """Mean loss and dL/dO for O (B, T_out, Q); cross-entropy takes class indices (B, T_out)."""
    if loss == "mse":
        diff = O - targets
        return float(np.mean(diff * diff)), 2.0 * diff / diff.size
    if loss == "bce":
        Y = sigmoid(O)
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
    """One forward and one backward pass; returns the loss and the gradients by parameter name."""
    p = {name.removeprefix("layer0."): value for name, value in params.items()}
    B, T, _ = X.shape
    hidden_size = p["W_hh"].shape[0]
    H_prev: Array = np.zeros((B, hidden_size), dtype=X.dtype)
    C_prev: Array = np.zeros_like(H_prev)
    caches: list[tuple[Array, ...]] = []
    states: list[Array] = []
    outputs: list[Array] = []
    # Cached in the forward loop and read back in the backward one.
    g: Array
    C_t: Array
    n: Array
    N_t: Array
    for t in range(T):
        X_t = X[:, t]
        if cell == "rnn":
            H_t = np.tanh(X_t @ p["W_xh"] + H_prev @ p["W_hh"] + p["b_h"])
            caches.append((X_t, H_prev, H_t))
        elif cell == "lstm":
            A_t = X_t @ p["W_xh"] + H_prev @ p["W_hh"] + p["b_h"]
            A_i, A_f, A_g, A_o = np.split(A_t, 4, axis=1)
            i, f, g, o = sigmoid(A_i), sigmoid(A_f), np.tanh(A_g), sigmoid(A_o)
            C_t = f * C_prev + i * g
            H_t = o * np.tanh(C_t)
            caches.append((X_t, H_prev, C_prev, i, f, g, o, C_t))
            C_prev = C_t
        else:
            W_xr, W_xz, W_xn = np.split(p["W_xh"], 3, axis=1)
            W_hr, W_hz, W_hn = np.split(p["W_hh"], 3, axis=1)
            b_r, b_z, b_n = np.split(p["b_h"], 3)
            r = sigmoid(X_t @ W_xr + H_prev @ W_hr + b_r)
            z = sigmoid(X_t @ W_xz + H_prev @ W_hz + b_z)
            N_t = H_prev @ W_hn + p["b_hn"]
            n = np.tanh(X_t @ W_xn + b_n + r * N_t)
            H_t = (1.0 - z) * n + z * H_prev
            caches.append((X_t, H_prev, r, z, n, N_t))
        states.append(H_t)
        if output_mode == "sequence" or t == T - 1:
            outputs.append(H_t @ p["W_hq"] + p["b_q"])
        H_prev = H_t
    O = np.stack(outputs, axis=1)
    if output_mode == "last":
        value, dO = _loss_grad(O, targets[:, None], loss)
    else:
        value, dO = _loss_grad(O, targets, loss)

    grads = {name: np.zeros_like(value) for name, value in p.items()}
    dH_next = np.zeros((B, hidden_size), dtype=X.dtype)
    dC_next = np.zeros_like(dH_next)
    for t in range(T - 1, -1, -1):
        dH_t = dH_next.copy()
        out_index = t if output_mode == "sequence" else t - (T - 1)
        if out_index >= 0:
            dO_t = dO[:, out_index]
            grads["W_hq"] += states[t].T @ dO_t
            grads["b_q"] += dO_t.sum(axis=0)
            dH_t += dO_t @ p["W_hq"].T
        if cell == "rnn":
            X_t, H_before, H_t = caches[t]
            dA_t = dH_t * (1.0 - H_t * H_t)
            grads["W_xh"] += X_t.T @ dA_t
            grads["W_hh"] += H_before.T @ dA_t
            grads["b_h"] += dA_t.sum(axis=0)
            dH_next = dA_t @ p["W_hh"].T
        elif cell == "lstm":
            X_t, H_before, C_before, i, f, g, o, C_t = caches[t]
            tanh_C = np.tanh(C_t)
            dC_t = dC_next + dH_t * o * (1.0 - tanh_C * tanh_C)
            dA_i = dC_t * g * i * (1.0 - i)
            dA_f = dC_t * C_before * f * (1.0 - f)
            dA_g = dC_t * i * (1.0 - g * g)
            dA_o = dH_t * tanh_C * o * (1.0 - o)
            dA_t = np.concatenate([dA_i, dA_f, dA_g, dA_o], axis=1)
            grads["W_xh"] += X_t.T @ dA_t
            grads["W_hh"] += H_before.T @ dA_t
            grads["b_h"] += dA_t.sum(axis=0)
            dH_next = dA_t @ p["W_hh"].T
            dC_next = dC_t * f
        else:
            X_t, H_before, r, z, n, N_t = caches[t]
            dA_n = dH_t * (1.0 - z) * (1.0 - n * n)
            dA_z = dH_t * (H_before - n) * z * (1.0 - z)
            dA_r = dA_n * N_t * r * (1.0 - r)
            dN_t = dA_n * r
            dA_x = np.concatenate([dA_r, dA_z, dA_n], axis=1)
            dA_h = np.concatenate([dA_r, dA_z, dN_t], axis=1)
            grads["W_xh"] += X_t.T @ dA_x
            grads["W_hh"] += H_before.T @ dA_h
            grads["b_h"] += dA_x.sum(axis=0)
            grads["b_hn"] += dN_t.sum(axis=0)
            dH_next = dA_h @ p["W_hh"].T + dH_t * z
    return value, {
        name if name in ("W_hq", "b_q") else f"layer0.{name}": grad for name, grad in grads.items()
    }
