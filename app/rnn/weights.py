"""The one place that knows PyTorch's parameter names and layouts.

A torch.nn.RNN/LSTM/GRU named `rnn` plus a torch.nn.Linear named `head` has the state dict

    rnn.weight_ih_l{k} (G·H, D_k)   rnn.weight_hh_l{k} (G·H, H)
    rnn.bias_ih_l{k}   (G·H,)       rnn.bias_hh_l{k}   (G·H,)
    head.weight        (Q, H)       head.bias          (Q,)

with the gates stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n). Ours are the same
blocks transposed to the row-vector convention: W_xh = weight_ihᵀ, W_hh = weight_hhᵀ,
W_hq = head.weightᵀ. A model with bias "two" keeps b_ih = bias_ih and b_hh = bias_hh as they
are; one with bias "one" keeps their sum b_h = bias_ih + bias_hh, except the GRU's candidate,
where r multiplies (H W_hn + b_hn): there b_hn = bias_hh's n block stays apart. bias "none" has
no bias tensors (bias=False), a model without a linear head no head tensors, and one whose
head has no bias (`head_bias` false, Linear(bias=False)) no head.bias. At import the
recurrent module and the head may have other names (`canonical_names`). A bidirectional model
adds each layer's reverse direction as `*_l{k}_reverse` (ours: `layer{k}_reverse.*`), and its
head reads 2H: head.weight (Q, 2H). Files are safetensors (never pickle), with the model config
in the metadata. Keras' layouts and gate orders come in through `from_keras` (the files
themselves are read in keras_files).
"""

import json
import re

import numpy as np
from pydantic import ValidationError
from safetensors.numpy import load as _load_safetensors
from safetensors.numpy import save as _save_safetensors

from app.rnn.arrays import Array, check_finite
from app.rnn.config import ModelConfig
from app.rnn.errors import NumericalError, WeightsError
from app.rnn.parameters import layer_input_size, units

_ACCEPTED_DTYPES = (np.float16, np.float32, np.float64)


def pytorch_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """PyTorch's names and shapes for a model of this config (no biases with bias "none", no
    head without `linear_head`, no head.bias without `head_bias`)."""
    H, G = config.hidden_size, config.gates
    shapes: dict[str, tuple[int, ...]] = {}
    for k, _, s in units(config):
        shapes[f"rnn.weight_ih_{s}"] = (G * H, layer_input_size(config, k))
        shapes[f"rnn.weight_hh_{s}"] = (G * H, H)
        if config.bias != "none":
            shapes[f"rnn.bias_ih_{s}"] = (G * H,)
            shapes[f"rnn.bias_hh_{s}"] = (G * H,)
    if config.linear_head:
        shapes["head.weight"] = (config.output_size, config.top_size)
    if config.has_b_q:
        shapes["head.bias"] = (config.output_size,)
    return shapes


def to_pytorch(config: ModelConfig, params: dict[str, Array]) -> dict[str, Array]:
    """Our parameters → a PyTorch state dict. Two biases go out as they are; one bias b_h goes
    into bias_ih, and bias_hh carries only the GRU's b_hn."""
    H = config.hidden_size
    state: dict[str, Array] = {}
    for _, prefix, k in units(config):
        p = f"{prefix}."
        state[f"rnn.weight_ih_{k}"] = np.ascontiguousarray(params[p + "W_xh"].T)
        state[f"rnn.weight_hh_{k}"] = np.ascontiguousarray(params[p + "W_hh"].T)
        if config.bias == "two":
            state[f"rnn.bias_ih_{k}"] = params[p + "b_ih"].copy()
            state[f"rnn.bias_hh_{k}"] = params[p + "b_hh"].copy()
        elif config.bias == "one":
            state[f"rnn.bias_ih_{k}"] = params[p + "b_h"].copy()
            bias_hh = np.zeros_like(params[p + "b_h"])
            if config.cell == "gru":
                bias_hh[2 * H :] = params[p + "b_hn"]
            state[f"rnn.bias_hh_{k}"] = bias_hh
    if config.linear_head:
        state["head.weight"] = np.ascontiguousarray(params["W_hq"].T)
    if config.has_b_q:
        state["head.bias"] = params["b_q"].copy()
    return state


def grads_to_pytorch(config: ModelConfig, grads: dict[str, Array]) -> dict[str, Array]:
    """Our gradients → PyTorch's names and layouts, equal to what autograd puts in `.grad`.

    With one bias, both of PyTorch's get the gradient of their sum b_h, except the GRU's bias_hh
    n block, which gets that of b_hn; two biases have their own gradients already.
    """
    H = config.hidden_size
    out: dict[str, Array] = {}
    for _, prefix, k in units(config):
        p = f"{prefix}."
        out[f"rnn.weight_ih_{k}"] = np.ascontiguousarray(grads[p + "W_xh"].T)
        out[f"rnn.weight_hh_{k}"] = np.ascontiguousarray(grads[p + "W_hh"].T)
        if config.bias == "two":
            out[f"rnn.bias_ih_{k}"] = grads[p + "b_ih"].copy()
            out[f"rnn.bias_hh_{k}"] = grads[p + "b_hh"].copy()
        elif config.bias == "one":
            out[f"rnn.bias_ih_{k}"] = grads[p + "b_h"].copy()
            bias_hh = grads[p + "b_h"].copy()
            if config.cell == "gru":
                bias_hh[2 * H :] = grads[p + "b_hn"]
            out[f"rnn.bias_hh_{k}"] = bias_hh
    if config.linear_head:
        out["head.weight"] = np.ascontiguousarray(grads["W_hq"].T)
    if config.has_b_q:
        out["head.bias"] = grads["b_q"].copy()
    return out


def from_pytorch(config: ModelConfig, state: dict[str, Array]) -> dict[str, Array]:
    """A PyTorch state dict (recurrent layer `rnn`, head `head`) → our parameters in the
    config's dtype.

    Every tensor's name, dtype, shape and values are checked against the config; the error names
    the tensor. With bias "one", biases may be absent altogether (a model built with
    bias=False: zeros), never half; so may the head's when the config has `head_bias` (b_q = 0).
    """
    expected = pytorch_shapes(config)
    if config.bias == "one":
        H, G = config.hidden_size, config.gates
        for _, _, k in units(config):  # absent ones are zeros
            expected[f"rnn.bias_ih_{k}"] = expected[f"rnn.bias_hh_{k}"] = (G * H,)
    unknown = sorted(set(state) - set(expected))
    if unknown:
        raise WeightsError(
            f"unexpected tensor(s) {', '.join(unknown)} for a {config.num_layers}-layer "
            f"{'bidirectional ' if config.bidirectional else ''}{config.cell} with bias "
            f"{config.bias!r} and "
            f"{'a' if config.linear_head else 'no'} linear head"
            f"{'' if config.has_b_q or not config.linear_head else ' without bias'} "
            f"(expected names: {', '.join(expected)})"
        )
    dtype = np.dtype(config.dtype)
    H = config.hidden_size
    tensors: dict[str, Array] = {}
    for name, shape in expected.items():
        if name not in state:
            absent_allowed = config.bias == "one" or name.startswith("head.")
            if "bias" in name and absent_allowed and _bias_free(state, name):
                tensors[name] = np.zeros(shape, dtype=dtype)
                continue
            raise WeightsError(f"tensor {name} is missing (expected shape {shape})")
        value = np.asarray(state[name])
        if value.dtype not in _ACCEPTED_DTYPES:
            raise WeightsError(f"tensor {name} has dtype {value.dtype}; expected a float type")
        if value.shape != shape:
            raise WeightsError(f"tensor {name} has shape {value.shape}, expected {shape}")
        try:
            check_finite(f"tensor {name}", value)
        except NumericalError as error:
            raise WeightsError(str(error)) from None
        tensors[name] = value.astype(dtype)
    params: dict[str, Array] = {}
    for _, prefix, k in units(config):
        p = f"{prefix}."
        params[p + "W_xh"] = np.ascontiguousarray(tensors[f"rnn.weight_ih_{k}"].T)
        params[p + "W_hh"] = np.ascontiguousarray(tensors[f"rnn.weight_hh_{k}"].T)
        if config.bias == "none":
            continue
        bias_ih, bias_hh = tensors[f"rnn.bias_ih_{k}"], tensors[f"rnn.bias_hh_{k}"]
        if config.bias == "two":
            params[p + "b_ih"], params[p + "b_hh"] = bias_ih, bias_hh
        elif config.cell == "gru":
            b_h = bias_ih.copy()
            b_h[: 2 * H] += bias_hh[: 2 * H]
            params[p + "b_h"] = b_h
            params[p + "b_hn"] = bias_hh[2 * H :].copy()
        else:
            params[p + "b_h"] = bias_ih + bias_hh
    if config.linear_head:
        params["W_hq"] = np.ascontiguousarray(tensors["head.weight"].T)
    if config.has_b_q:
        params["b_q"] = tensors["head.bias"].copy()
    return params


# Keras' gate blocks in PyTorch's order: its LSTM's i, f, c, o are PyTorch's i, f, g, o; its
# GRU's z, r, h become r, z, n.
_KERAS_GATE_ORDER = {"rnn": (0,), "lstm": (0, 1, 2, 3), "gru": (1, 0, 2)}


def from_keras(cell: str, layers: list[list[Array]], head: list[Array] | None) -> dict[str, Array]:
    """Keras' variables → a PyTorch state dict (shapes checked by the caller). Per layer,
    kernel (D_k, G·H), recurrent_kernel (H, G·H) and a bias (G·H,), the GRU's (2, 3H) or none:
    weight_ih = kernelᵀ, weight_hh = recurrent_kernelᵀ, their gate blocks in PyTorch's order;
    bias_ih = the bias (the GRU's input bias, row 0), bias_hh = 0 (its recurrent bias, row 1).
    A Dense head's kernel (H, Q) and bias (Q,) or none: head.weight = kernelᵀ, head.bias."""
    order = _KERAS_GATE_ORDER[cell]

    def in_torch_order(value: Array) -> Array:
        blocks = np.split(value, len(order), axis=-1)
        return np.concatenate([blocks[i] for i in order], axis=-1)

    state: dict[str, Array] = {}
    for k, tensors in enumerate(layers):
        state[f"rnn.weight_ih_l{k}"] = np.ascontiguousarray(in_torch_order(tensors[0]).T)
        state[f"rnn.weight_hh_l{k}"] = np.ascontiguousarray(in_torch_order(tensors[1]).T)
        if len(tensors) > 2:
            bias = in_torch_order(tensors[2])
            two = bias.ndim == 2
            state[f"rnn.bias_ih_l{k}"] = bias[0] if two else bias
            state[f"rnn.bias_hh_l{k}"] = bias[1] if two else np.zeros_like(bias)
    if head is not None:
        state["head.weight"] = np.ascontiguousarray(head[0].T)
        if len(head) > 1:
            state["head.bias"] = head[1]
    return state


def _bias_free(state: dict[str, Array], name: str) -> bool:
    """True when the state dict has no bias of that module at all (torch's bias=False)."""
    module = name.split(".")[0]
    return not any(key.startswith(module + ".") and "bias" in key for key in state)


def save(config: ModelConfig, params: dict[str, Array]) -> bytes:
    """Safetensors bytes in PyTorch's names and layouts; the config travels in the metadata."""
    return _save_safetensors(
        to_pytorch(config, params), metadata={"config": json.dumps(config.to_dict())}
    )


def load(
    data: bytes, config: ModelConfig | None = None, head_prefix: str | None = None
) -> tuple[ModelConfig, dict[str, Array]]:
    """Parse safetensors bytes. Without `config`, the one in the file's metadata is used.

    The tensors' names are made ours first (`canonical_names`); a given config's `bias` and
    `linear_head`, when the caller left them unsaid, are read off the tensors (`fitted`).
    """
    try:
        state = _load_safetensors(data)
    except Exception as error:  # the parser raises several types for malformed files
        raise WeightsError(f"not a valid safetensors file: {error}") from None
    state = canonical_names(state, head_prefix)
    config = _metadata_config(data) if config is None else fitted(config, state)
    return config, from_pytorch(config, state)


def canonical_names(state: dict[str, Array], head_prefix: str | None = None) -> dict[str, Array]:
    """A state dict's recurrent tensors renamed to `rnn.*` and its Linear head's to `head.*`.

    The recurrent tensors are the `{weight,bias}_{ih,hh}_l{k}` under one prefix ("" for a bare
    torch.nn.LSTM's, "lstm." for a module's `lstm`, …). The head is the `head_prefix`'s
    weight/bias pair, or else the one `*.weight`/`*.bias` pair left over (`fc`, `linear`,
    `decoder`, …); none left over: no head. Several: a WeightsError naming the keys found.
    """
    prefixes = {m.group(1) for key in state if (m := _RECURRENT.fullmatch(key))}
    if len(prefixes) > 1:
        raise WeightsError(
            f"recurrent tensors under several prefixes ({', '.join(sorted(prefixes))}): "
            "the server reads one recurrent module"
        )
    prefix = prefixes.pop() if prefixes else "rnn."
    renamed: dict[str, Array] = {}
    rest: dict[str, Array] = {}
    for key, value in state.items():
        if key.startswith(prefix) and _RECURRENT.fullmatch(key):
            renamed["rnn." + key[len(prefix) :]] = value
        else:
            rest[key] = value
    head = head_prefix.rstrip(".") if head_prefix is not None else _head_prefix(rest)
    for key, value in rest.items():
        module, _, leaf = key.rpartition(".")
        renamed[f"head.{leaf}" if head is not None and module == head else key] = value
    if head_prefix is not None and f"{head}.weight" not in rest:
        found = ", ".join(sorted(rest)) or "none"
        raise WeightsError(
            f"head_prefix {head_prefix!r}: there is no tensor {head}.weight "
            f"(the non-recurrent tensors are: {found})"
        )
    return renamed


_RECURRENT = re.compile(r"((?:.+\.)?)(?:weight|bias)_(?:ih|hh)_l\d+(?:_reverse)?")


def _head_prefix(rest: dict[str, Array]) -> str | None:
    """The module of the one Linear-like weight/bias pair among the non-recurrent tensors."""
    modules = sorted(
        {key.rpartition(".")[0] for key in rest if key.rpartition(".")[2] in ("weight", "bias")}
    )
    if len(modules) > 1:
        raise WeightsError(
            f"the head is ambiguous: the tensors {', '.join(sorted(rest))} outside the "
            f"recurrent layer form {len(modules)} modules ({', '.join(modules)}); name the "
            "head with head_prefix"
        )
    return modules[0] if modules else None


def fitted(config: ModelConfig, state: dict[str, Array]) -> ModelConfig:
    """The config with `bias`, `linear_head`, `head_bias` and `bidirectional`, where its maker
    left them unsaid, set as the (canonically named) tensors say: "two" when there are biases,
    "none" when there are none; a linear head when head.weight is there, with a bias when
    head.bias is; bidirectional when `*_reverse` tensors are. What the maker said stays."""
    update: dict[str, object] = {}
    if "bias" not in config.model_fields_set:
        update["bias"] = "two" if any(_RECURRENT_BIAS.match(key) for key in state) else "none"
    if "linear_head" not in config.model_fields_set:
        update["linear_head"] = any(key.startswith("head.") for key in state)
    if "head_bias" not in config.model_fields_set:
        has_head = update.get("linear_head", config.linear_head)
        update["head_bias"] = "head.bias" in state or not has_head
    if "bidirectional" not in config.model_fields_set:
        update["bidirectional"] = any(key.endswith("_reverse") for key in state)
    try:
        return ModelConfig.model_validate({**config.to_dict(), **update})
    except ValidationError as error:
        message = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise WeightsError(f"the config does not fit the tensors: {message}") from None


_RECURRENT_BIAS = re.compile(r"rnn\.bias_(?:ih|hh)_l\d+(?:_reverse)?$")


def metadata(data: bytes) -> dict[str, str]:
    """The `__metadata__` of safetensors bytes: an 8-byte little-endian header length, then the
    header, JSON. Raises WeightsError when the header cannot be read."""
    try:
        header_size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_size])
        found = header.get("__metadata__", {})
    except (ValueError, AttributeError):
        raise WeightsError("not a valid safetensors file: its header is not JSON") from None
    if not isinstance(found, dict):
        raise WeightsError("not a valid safetensors file: __metadata__ is not an object")
    return {str(key): str(value) for key, value in found.items()}


def _metadata_config(data: bytes) -> ModelConfig:
    """The config stored in a safetensors header's __metadata__, if any."""
    raw = metadata(data).get("config")
    if raw is None:
        raise WeightsError("the file carries no model config; supply one")
    try:
        return ModelConfig.model_validate_json(raw)
    except ValidationError as error:
        raise WeightsError(f"the config in the file's metadata is invalid: {error}") from None
