"""Keras layers → a ModelConfig and our parameters: the layers (keras_files reads them) are
checked, their config translated, their variables' shapes checked and the tensors translated in
app.rnn.weights (`from_keras`). Everything the engine cannot compute exactly is refused with a
WeightsError naming the layer and the option: GRU reset_after=False, activations other than
those below, go_backwards, any layer but SimpleRNN/LSTM/GRU and one Dense head.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from app.rnn import weights
from app.rnn.arrays import Array
from app.rnn.config import ModelConfig
from app.rnn.errors import WeightsError
from app.rnn.keras_files import RECURRENT_CLASSES as _CELLS
from app.rnn.keras_files import KerasLayer, read_layers

__all__ = ["load"]

# Keras' activation names → ours: the SimpleRNN's φ, the Dense head's output function
_RNN_ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "linear": "identity"}
_HEAD_ACTIVATIONS = {"linear": "identity", "softmax": "softmax", "sigmoid": "sigmoid"}
_HEAD_LOSS = {"identity": "mse", "softmax": "cross_entropy", "sigmoid": "bce"}
# what a layer's Keras config may hold that changes its forward pass and the engine does not do
_REFUSED_OPTIONS = {"go_backwards": True}
_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def load(
    data: bytes, config: dict[str, Any] | None, max_numbers: int
) -> tuple[ModelConfig, dict[str, Array]]:
    """A Keras file → (config, our parameters). The config is the one the file says (.keras) or
    its shapes say (.weights.h5, the rest at ModelConfig's defaults); the fields of `config`, a
    partial ModelConfig, are taken over it. At most `max_numbers` numbers are read."""
    layers = read_layers(data, max_numbers)
    _check(layers)
    recurrent = [layer for layer in layers if layer.kind in _CELLS]
    head = layers[-1] if layers[-1].kind == "Dense" else None
    _check_shapes(recurrent, head)
    found = _found_config(recurrent, head)
    try:
        model = ModelConfig.model_validate({**found, **(config or {})})
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("config", *first["loc"]))
        raise WeightsError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    state = weights.from_keras(
        _CELLS[recurrent[0].kind],
        [layer.tensors for layer in recurrent],
        head.tensors if head is not None else None,
    )
    return model, weights.from_pytorch(model, state)


def _check_shapes(recurrent: list[KerasLayer], head: KerasLayer | None) -> None:
    """Each layer's variables have the shapes of one stack: the first layer's kernel sets D,
    its recurrent kernel H, the gates G."""
    first = recurrent[0].tensors
    if len(first) < 2 or first[1].ndim != 2:
        raise WeightsError(f"layer {recurrent[0].name} has no recurrent kernel in the h5 file")
    H = first[1].shape[0]
    GH = _GATES[recurrent[0].kind] * H
    D = first[0].shape[0] if first[0].ndim == 2 else 0
    for k, layer in enumerate(recurrent):
        shapes = [(D if k == 0 else H, GH), (H, GH), (2, GH) if _two_biases(layer) else (GH,)]
        _check_variables(layer, shapes, 2, H)
    if head is not None:
        Q = head.tensors[0].shape[-1] if head.tensors else 0
        _check_variables(head, [(H, Q), (Q,)], 1, Q)


def _two_biases(layer: KerasLayer) -> bool:
    return layer.kind == "GRU" and layer.options.get("reset_after", True) is not False


def _check_variables(
    layer: KerasLayer, shapes: Sequence[tuple[int, ...]], least: int, units: int
) -> None:
    """The layer's variables have these shapes (the bias may be absent) and its units."""
    if layer.options.get("units", units) != units:
        raise WeightsError(
            f"layer {layer.name} ({layer.kind}) has units={layer.options['units']!r} but its "
            f"variables hold {units}"
        )
    names = ("kernel", "recurrent_kernel", "bias") if len(shapes) == 3 else ("kernel", "bias")
    if not least <= len(layer.tensors) <= len(shapes):
        raise WeightsError(
            f"layer {layer.name} ({layer.kind}) has {len(layer.tensors)} variables in the h5 "
            f"file; expected {' and '.join(names[: len(shapes)])} (the bias may be absent)"
        )
    for name, tensor, shape in zip(names, layer.tensors, shapes, strict=False):
        if tensor.shape != shape or 0 in shape:
            raise WeightsError(
                f"layer {layer.name} ({layer.kind}): {name} has shape {tensor.shape}, "
                f"expected {shape}"
            )


def _check(layers: list[KerasLayer]) -> None:
    """Refuse what the engine cannot compute exactly, naming the layer and the option."""
    recurrent = [layer for layer in layers if layer.kind in _CELLS]
    for position, layer in enumerate(layers):
        where = f"layer {layer.name} ({layer.kind})"
        if layer.kind not in (*_CELLS, "Dense"):
            raise WeightsError(
                f"{where} cannot be translated: the server reads SimpleRNN, LSTM and GRU "
                "layers and one Dense head"
            )
        if layer.unread:
            raise WeightsError(
                f"{where} holds variables the server cannot read ({', '.join(layer.unread)}); "
                "it reads a layer's [cell/]vars/<i>"
            )
        if layer.kind == "Dense" and position != len(layers) - 1:
            raise WeightsError(f"{where}: only one Dense layer, the last, is read (the head)")
        if layer.kind in _CELLS and position >= len(recurrent):
            raise WeightsError(f"{where} comes after the Dense head")
        for option, refused in _REFUSED_OPTIONS.items():
            if layer.options.get(option) == refused:
                raise WeightsError(f"{where}: {option}={refused} is not supported")
        _check_activations(layer, where)
    if not recurrent:
        raise WeightsError("the Keras model has no SimpleRNN, LSTM or GRU layer")
    first = recurrent[0]
    for layer in recurrent[1:]:
        if layer.kind != first.kind or layer.options.get("units") != first.options.get("units"):
            raise WeightsError(
                f"layer {layer.name} ({layer.kind}): every recurrent layer must be a "
                f"{first.kind} of {first.options.get('units')} units, as {first.name} is"
            )
        for option in ("use_bias", "activation", "reset_after"):
            if layer.options.get(option) != first.options.get(option):
                raise WeightsError(
                    f"layer {layer.name} ({layer.kind}): {option} differs from layer "
                    f"{first.name}'s; the server's layers share one"
                )
    for layer in recurrent[:-1]:
        if layer.options.get("return_sequences") is False:
            raise WeightsError(
                f"layer {layer.name} ({layer.kind}) feeds another recurrent layer, so it "
                "must return sequences"
            )


def _check_activations(layer: KerasLayer, where: str) -> None:
    activation = layer.options.get("activation")
    if layer.kind == "GRU" and layer.options.get("reset_after") is False:
        raise WeightsError(
            f"{where}: reset_after=False applies the reset gate before the recurrent matmul "
            "(r ⊙ H_{t-1}) W_hn, which the engine's GRU (PyTorch's: r ⊙ (H_{t-1} W_hn + b_hn)) "
            "cannot express; save the GRU with reset_after=True"
        )
    if layer.kind in ("LSTM", "GRU"):
        recurrent_activation = layer.options.get("recurrent_activation", "sigmoid")
        if activation not in (None, "tanh") or recurrent_activation not in (None, "sigmoid"):
            raise WeightsError(
                f"{where}: activation {activation!r} and recurrent_activation "
                f"{recurrent_activation!r} are not supported (only tanh and sigmoid)"
            )
    table = {"SimpleRNN": _RNN_ACTIVATIONS, "Dense": _HEAD_ACTIVATIONS}.get(layer.kind)
    if table is not None and activation is not None and str(activation) not in table:
        raise WeightsError(
            f"{where}: activation {activation!r} is not supported (only {', '.join(table)})"
        )


def _found_config(recurrent: list[KerasLayer], head: KerasLayer | None) -> dict[str, Any]:
    """The ModelConfig fields the layers say; fields they do not say are left out."""
    layers = [*recurrent, head] if head is not None else recurrent
    first, last = recurrent[0], recurrent[-1]
    kernel, recurrent_kernel = first.tensors[0], first.tensors[1]
    cell = _CELLS[first.kind]
    found: dict[str, Any] = {
        "cell": cell,
        "input_size": kernel.shape[0],
        "hidden_size": recurrent_kernel.shape[0],
        "num_layers": len(recurrent),
        "linear_head": head is not None,
        "head_bias": head is None or len(head.tensors) > 1,  # Dense(use_bias=False): no b_q
        "output_size": head.tensors[0].shape[-1] if head is not None else recurrent_kernel.shape[0],
        "dtype": "float64"
        if all(t.dtype == np.float64 for l in layers for t in l.tensors)
        else "float32",
    }
    if len(first.tensors) < 3:
        found["bias"] = "none"
    else:
        found["bias"] = "two" if cell == "gru" else "one"
    if cell == "rnn" and "activation" in first.options:
        found["nonlinearity"] = _RNN_ACTIVATIONS[first.options["activation"]]
    if "return_sequences" in last.options:
        found["output_mode"] = "sequence" if last.options["return_sequences"] else "last"
    if head is not None and "activation" in head.options:
        found["head"] = _HEAD_ACTIVATIONS[head.options["activation"]]
        found["loss"] = _HEAD_LOSS[found["head"]]
    return found
