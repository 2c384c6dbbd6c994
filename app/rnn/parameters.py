"""A model's parameters: what it stores and trains, and what its cells read.

A layer stores, by the config's `bias`:

    "one"   W_xh (D, G·H), W_hh (H, G·H), b_h (G·H,)       and for the GRU b_hn (H,)
    "two"   W_xh, W_hh, b_ih (G·H,), b_hh (G·H,)            PyTorch's bias_ih, bias_hh exactly
    "none"  W_xh, W_hh                                      PyTorch's bias=False

and the cells always read W_xh, W_hh, b_h (and b_hn for the GRU). With two biases
b_h = b_ih + b_hh, except the GRU's candidate block, where r multiplies (H W_hn + b_hn):
b_h = [b_ir + b_hr | b_iz + b_hz | b_in] and b_hn = b_hh's n block. Without biases both are
zeros. The head W_hq (H, Q), b_q (Q,) exists only with `linear_head`, and b_q only with
`head_bias` as well.

Gradients follow the chain rule through the sum: dL/db_ih = dL/db_h and dL/db_hh = dL/db_h,
except the GRU's b_hh n block, whose gradient is dL/db_hn (what autograd gives PyTorch's).
"""

import numpy as np

from app.rnn.arrays import Array
from app.rnn.config import ModelConfig
from app.rnn.errors import ShapeError

CELL_BIASES = ("b_h", "b_hn")


def layer_input_size(config: ModelConfig, layer: int) -> int:
    """D for layer 0, H for every layer above it (2H, [H_fwd | H_bwd], when bidirectional)."""
    return config.input_size if layer == 0 else config.top_size


def units(config: ModelConfig) -> list[tuple[int, str, str]]:
    """Every (layer, direction) the model runs, in PyTorch's order (layer-major, forward before
    reverse), as (layer k, our prefix, PyTorch's suffix): (0, "layer0", "l0"), and with
    `bidirectional` (0, "layer0_reverse", "l0_reverse") after it."""
    suffixes = ("", "_reverse")[: config.directions]
    return [
        (k, f"layer{k}{suffix}", f"l{k}{suffix}")
        for k in range(config.num_layers)
        for suffix in suffixes
    ]


def layer_shapes(config: ModelConfig, layer: int) -> dict[str, tuple[int, ...]]:
    """One layer's stored parameters by short name, in a fixed order."""
    H, G = config.hidden_size, config.gates
    shapes: dict[str, tuple[int, ...]] = {
        "W_xh": (layer_input_size(config, layer), G * H),
        "W_hh": (H, G * H),
    }
    if config.bias == "one":
        shapes["b_h"] = (G * H,)
        if config.cell == "gru":
            shapes["b_hn"] = (H,)
    elif config.bias == "two":
        shapes["b_ih"] = (G * H,)
        shapes["b_hh"] = (G * H,)
    return shapes


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Our stored parameter names and shapes, in a fixed order: each layer's (`layer_shapes`,
    prefixed "layer{k}.", and "layer{k}_reverse." for its reverse direction), then the head's
    W_hq (H, Q) ((2H, Q) bidirectional) if it has one, and b_q (Q,) if that has a bias."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, prefix, _ in units(config):
        for name, shape in layer_shapes(config, layer).items():
            shapes[f"{prefix}.{name}"] = shape
    if config.linear_head:
        shapes["W_hq"] = (config.top_size, config.output_size)
        if config.head_bias:
            shapes["b_q"] = (config.output_size,)
    return shapes


def cell_params(config: ModelConfig, stored: dict[str, Array]) -> dict[str, Array]:
    """A layer's stored parameters (short names) → what its cell reads: W_xh, W_hh, b_h and
    for the GRU b_hn. With one bias these are the stored arrays themselves (views)."""
    if config.bias == "one":
        return stored
    H, G = config.hidden_size, config.gates
    dtype = stored["W_hh"].dtype
    params = {"W_xh": stored["W_xh"], "W_hh": stored["W_hh"]}
    if config.bias == "none":
        params["b_h"] = np.zeros(G * H, dtype=dtype)
        if config.cell == "gru":
            params["b_hn"] = np.zeros(H, dtype=dtype)
        return params
    b_ih, b_hh = stored["b_ih"], stored["b_hh"]
    if config.cell == "gru":
        b_h = b_ih.copy()
        b_h[: 2 * H] += b_hh[: 2 * H]
        params["b_h"] = b_h
        params["b_hn"] = b_hh[2 * H :]
    else:
        params["b_h"] = b_ih + b_hh
    return params


def cell_grads_out(
    config: ModelConfig, stored_grads: dict[str, Array], dtype: np.dtype
) -> dict[str, Array]:
    """The arrays a cell's backward writes into: the stored gradients' own W_xh, W_hh (and,
    with one bias, b_h, b_hn); scratch arrays for b_h, b_hn otherwise (see `store_bias_grads`)."""
    if config.bias == "one":
        return stored_grads
    H, G = config.hidden_size, config.gates
    out = {"W_xh": stored_grads["W_xh"], "W_hh": stored_grads["W_hh"]}
    out["b_h"] = np.empty(G * H, dtype=dtype)
    if config.cell == "gru":
        out["b_hn"] = np.empty(H, dtype=dtype)
    return out


def store_bias_grads(
    config: ModelConfig, cell_grads: dict[str, Array], stored_grads: dict[str, Array]
) -> None:
    """dL/db_h (and dL/db_hn) from the cell → the stored biases' gradients, in place."""
    if config.bias != "two":
        return  # "one": written in place already; "none": nothing is stored
    db_h = cell_grads["b_h"]
    stored_grads["b_ih"][...] = db_h
    stored_grads["b_hh"][...] = db_h
    if config.cell == "gru":
        stored_grads["b_hh"][2 * config.hidden_size :] = cell_grads["b_hn"]


def checked_params(
    config: ModelConfig, params: dict[str, Array], dtype: np.dtype
) -> tuple[dict[str, Array], Array]:
    """The parameters, copied in `dtype` into one flat buffer (returned too) of which each is a
    view: the optimisers update them in place, and one test of the buffer checks them all."""
    shapes = parameter_shapes(config)
    missing = [name for name in shapes if name not in params]
    extra = [name for name in params if name not in shapes]
    if missing or extra:
        raise ShapeError(f"parameters do not fit the config: missing {missing}, unexpected {extra}")
    values = {name: np.asarray(params[name], dtype=dtype) for name in shapes}
    for name, shape in shapes.items():
        if values[name].shape != shape:
            raise ShapeError(f"parameter {name} has shape {values[name].shape}, expected {shape}")
    flat = np.empty(sum(value.size for value in values.values()), dtype=dtype)
    checked = {}
    offset = 0
    for name, value in values.items():
        view = flat[offset : offset + value.size].reshape(value.shape)
        view[...] = value
        checked[name] = view
        offset += value.size
    return checked, flat
