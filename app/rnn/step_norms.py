"""Each timestep's contribution to each parameter gradient, in full or as its Frobenius norm.

The gradient of W_xh is Σ_t X_tᵀ dA_x,t; step t's contribution X_tᵀ dA_x,t shows where in the
sequence the learning signal comes from. Likewise H_{t-1}ᵀ dA_h,t for W_hh, Σ_b dA_x,t for b_h,
Σ_b dN_t for the GRU's b_hn and H_tᵀ dO_t, Σ_b dO_t for the head. Arrays are time-major.
"""

from typing import Literal

import numpy as np

from app.rnn.arrays import Array, previous
from app.rnn.cells import CellTrace, LayerGrads
from app.rnn.config import ModelConfig

StepGrads = Literal["none", "norms", "full"]


def step_contributions(
    config: ModelConfig,
    traces: list[CellTrace],
    layer_grads: list[LayerGrads],
    H_top: Array,
    dO: Array,
    mode: StepGrads,
    prefixes: list[str] | None = None,
) -> tuple[dict[str, Array], dict[str, Array] | None]:
    """(norms, full): each parameter's per-step contribution norms (T,) (the head's (T_out,)),
    and with mode "full" the contributions themselves (T, *shape); ({}, None) for "none".

    traces, layer_grads: one per unit (layer and direction), named by `prefixes` ("layer{k}"
    by default; a reverse direction's by its own order of steps). H_top: (T_out, B, ·) the top
    layer's output that reaches the head; dO: (T_out, B, Q).
    """
    if mode == "none":
        return {}, None
    if prefixes is None:
        prefixes = [f"layer{k}" for k in range(len(traces))]
    norms = _step_norms(config, traces, layer_grads, H_top, dO, prefixes)
    if mode == "norms":
        return norms, None
    full: dict[str, Array] = {"W_hq": H_top.swapaxes(1, 2) @ dO, "b_q": dO.sum(axis=1)}
    for layer, trace, g in zip(prefixes, traces, layer_grads, strict=True):
        full[f"{layer}.W_xh"] = trace.X.swapaxes(1, 2) @ g.dA_x
        full[f"{layer}.W_hh"] = previous(trace.H0, trace.H).swapaxes(1, 2) @ g.dA_h
        full[f"{layer}.b_h"] = g.dA_x.sum(axis=1)
        if config.cell == "gru":
            full[f"{layer}.b_hn"] = g.dA_h[:, :, 2 * config.hidden_size :].sum(axis=1)
    return norms, full


def _step_norms(
    config: ModelConfig,
    traces: list[CellTrace],
    layer_grads: list[LayerGrads],
    H_top: Array,
    dO: Array,
    prefixes: list[str],
) -> dict[str, Array]:
    """‖step t's contribution‖_F to every parameter, without forming the contributions.

    Every contribution is a product L_tᵀ R_t of two (B, ·) factors (a bias's L_t is a column of
    ones), and ‖L_tᵀ R_t‖²_F = Σ (L_t L_tᵀ) ⊙ (R_t R_tᵀ), with the (B, B) Gram matrices of each
    step, cheap while B is small. Each Gram is computed once and shared: a layer's input X is the
    layer below's H, the states H_{t-1} are H shifted by a step, and the rnn and lstm have one dA
    for both weights. The GRU's dA_x and dA_h share their r and z blocks, so their Grams are sums
    of three narrower ones, the last of which is b_hn's.
    """
    grams: dict[int, Array] = {}

    def gram(S: Array, dtype: np.dtype | None = None) -> Array:
        key = id(S)
        if key not in grams:
            grams[key] = _gram(S, dtype)
        return grams[key]

    # The gradients' Grams in float64: the squares of small float32 gradients (below ~1e-19,
    # common at steps far from the loss) underflow float32, losing their digits, and on Intel
    # cores every underflowing product costs a microcode assist (benchmarks/RESULTS.md).
    wide = np.dtype(np.float64)
    factors: dict[str, tuple[Array, Array]] = {}  # parameter → Grams of (L_t, R_t)
    # A bias's step is the batch's sum Σ_b dA_t[b]: its norm directly, not through a Gram of
    # ones, whose Σ_b Σ_b' products cancel where the sum is small (a relative error of 1e-5).
    biases: dict[str, Array] = {}
    for layer, trace, g in zip(prefixes, traces, layer_grads, strict=True):
        gram_H = gram(trace.H)
        gram_previous = np.empty_like(gram_H)  # of H_{t-1}
        gram_previous[:1] = _gram(trace.H0[None])
        gram_previous[1:] = gram_H[:-1]
        gram_x: Array
        gram_h: Array
        if config.cell == "gru":
            n_columns = 2 * config.hidden_size
            gram_rz = _gram(g.dA_h[:, :, :n_columns], wide)
            gram_hn = _gram(g.dA_h[:, :, n_columns:], wide)
            gram_x = gram_rz + _gram(g.dA_x_blocks[1], wide)
            gram_h = gram_rz + gram_hn
            biases[f"{layer}.b_hn"] = _batch_sum_norm(g.dA_h[:, :, n_columns:])
        else:
            gram_x = gram(g.dA_x, wide)
            gram_h = gram(g.dA_h, wide)
        factors[f"{layer}.W_xh"] = (gram(trace.X), gram_x)
        factors[f"{layer}.W_hh"] = (gram_previous, gram_h)
        biases[f"{layer}.b_h"] = _batch_sum_norm(g.dA_x)
    factors["W_hq"] = (gram(H_top), gram(dO, wide))
    biases["b_q"] = _batch_sum_norm(dO)
    squared = np.concatenate([np.vecdot(left, right) for left, right in factors.values()])
    # Rounding can leave the square of a norm near 0 a hair below it.
    norms = np.sqrt(np.maximum(squared, 0.0)).astype(H_top.dtype)
    by_name: dict[str, Array] = {}
    start = 0
    for name, (left, _) in factors.items():
        by_name[name] = norms[start : start + len(left)]
        start += len(left)
    by_name.update((name, norm.astype(H_top.dtype)) for name, norm in biases.items())
    return by_name


def _batch_sum_norm(S: Array) -> Array:
    """S: (T, B, K) → ‖Σ_b S_t[b]‖ for each t: (T,), summed in float64."""
    return np.linalg.norm(S.sum(axis=1, dtype=np.float64), axis=-1)


def _gram(S: Array, dtype: np.dtype | None = None) -> Array:
    """S: (T, B, K) → the Gram matrices S_t S_tᵀ, each flattened: (T, B·B), computed in
    `dtype` (S's own by default)."""
    S = S.astype(dtype or S.dtype, copy=False)
    return (S @ S.mT).reshape(S.shape[0], -1)
