"""Initialisers: every parameter of a network drawn from one seeded generator, reproducibly.

- "pytorch": PyTorch's defaults. Every weight and bias of torch.nn.RNN/LSTM/GRU ~ U(−k, k) with
  k = 1/√H; with one bias, b_h = bias_ih + bias_hh is the sum of two such draws (with two, b_ih
  and b_hh are one draw each). The head, like
  torch.nn.Linear, ~ U(−1/√H, 1/√H).
- "uniform": U(0, 1) for every weight, zero biases — the classic tutorial choice; with sigmoid it
  saturates the units and the gradient vanishes, which the explorer shows on purpose.
- "uniform_symmetric": U(−1, 1), zero biases (the 8-bit binary-addition tutorial's 2·rand − 1).
- "normal": N(0, σ²) with σ = init_std, zero biases.
- "xavier": Glorot uniform per gate block, U(−a, a), a = √(6 / (fan_in + fan_out)); zero biases.
- "orthogonal": each gate block of W_hh orthogonal, W_xh semi-orthogonal, Glorot head.
- "identity": the IRNN of Le, Jaitly & Hinton (2015): W_hh = I per gate block, the other weights
  ~ N(0, 0.001²), zero biases.
"""

import numpy as np

from app.rnn.arrays import Array
from app.rnn.config import ModelConfig
from app.rnn.parameters import layer_input_size, parameter_shapes

__all__ = ["init_params", "layer_input_size", "parameter_shapes"]


def init_params(config: ModelConfig) -> dict[str, Array]:
    """Fresh parameters for `config`, drawn in the order of `parameter_shapes`."""
    rng = np.random.default_rng(config.seed)
    dtype = np.dtype(config.dtype)
    H, G = config.hidden_size, config.gates
    params: dict[str, Array] = {}
    for name, shape in parameter_shapes(config).items():
        kind = name.rsplit(".", 1)[-1]
        params[name] = _draw(config, kind, shape, H, G, rng).astype(dtype)
        if kind in ("b_h", "b_ih") and config.cell == "lstm" and config.forget_bias:
            params[name][H : 2 * H] += config.forget_bias  # gate order i, f, g, o
    return params


def _draw(
    config: ModelConfig,
    kind: str,
    shape: tuple[int, ...],
    H: int,
    G: int,
    rng: np.random.Generator,
) -> Array:
    init = config.init
    is_bias = kind.startswith("b_")
    if init == "pytorch":
        k = 1.0 / np.sqrt(H)
        if kind == "b_h":
            merged = rng.uniform(-k, k, shape) + rng.uniform(-k, k, shape)
            if config.cell == "gru":
                merged[2 * H :] = rng.uniform(-k, k, H)  # b_in alone: b_hn is kept apart
            return merged
        return rng.uniform(-k, k, shape)
    if is_bias:
        return np.zeros(shape)
    if init == "uniform":
        return rng.uniform(0.0, 1.0, shape)
    if init == "uniform_symmetric":
        return rng.uniform(-1.0, 1.0, shape)
    if init == "normal":
        return rng.normal(0.0, config.init_std, shape)
    if init == "xavier" or kind == "W_hq":
        return _glorot(shape, G if kind != "W_hq" else 1, rng)
    if init == "orthogonal":
        return np.concatenate([_orthogonal(shape[0], H, rng) for _ in range(G)], axis=1)
    if init == "identity":
        if kind == "W_hh":
            return np.tile(np.eye(H), (1, G))
        return rng.normal(0.0, 0.001, shape)
    raise ValueError(f"unknown init {init!r}")


def _glorot(shape: tuple[int, ...], blocks: int, rng: np.random.Generator) -> Array:
    fan_in, fan_out = shape[0], shape[1] // blocks
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape)


def _orthogonal(rows: int, cols: int, rng: np.random.Generator) -> Array:
    """A (rows, cols) matrix with orthonormal rows or columns (whichever are fewer)."""
    M = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
    Q, R = np.linalg.qr(M)
    Q *= np.sign(np.diag(R))  # makes the draw uniform over orthogonal matrices
    return Q if rows >= cols else Q.T
