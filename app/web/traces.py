"""The engine's traces as REST payloads (whole arrays).

The stream's frames (app.web.frames, one timestep each) read the same arrays, so they equal the
REST trace of the same pass, step by step.
"""

from typing import Any

import numpy as np

from app.rnn import BackwardResult, ForwardTrace
from app.rnn.arrays import Array
from app.rnn.weights import grads_to_pytorch
from app.services.models import Pass
from app.web.arrays import to_list
from app.web.responses import as_sent

__all__ = [
    "backward_payload",
    "forward_payload",
    "layer_parameter_names",
    "pytorch_grads",
    "reverse_dH_norm",
]


def layer_parameter_names(cell: str) -> tuple[str, ...]:
    return ("W_xh", "W_hh", "b_h", "b_hn") if cell == "gru" else ("W_xh", "W_hh", "b_h")


def forward_payload(run: Pass, states_only: bool = False) -> dict[str, Any]:
    """ForwardResponse: outputs, logits and per-layer H, A, gates; batch axis only if batched.
    states_only (`?fields=states`): per layer H (and C for an LSTM) only, A and the gates being
    functions of them, the inputs and the weights. Its arrays stay NumPy arrays (float64) for
    FastJSONResponse."""
    trace, batched = run.trace, run.batched

    def answer(array: Array, name: str = "trace") -> Any:
        return as_sent(array if batched else array[0], name)

    layer = _states if states_only else _full_layer
    layers = []
    for k in range(trace.config.num_layers):
        forward = layer(trace, k, answer, False)
        if trace.config.bidirectional:
            forward["reverse"] = layer(trace, k, answer, True)
        layers.append(forward)
    h, c = trace.final_state  # (L·directions, B, H)
    return {
        "outputs": answer(trace.Y),
        "logits": answer(trace.O),
        "trace": {
            "layers": layers,
            "final_state": {
                "h": as_sent(h if batched else h[:, 0], "final_state.h"),
                "c": None if c is None else as_sent(c if batched else c[:, 0], "final_state.c"),
            },
            "spectral_radius": run.spectral_radius,
        },
    }


def _full_layer(trace: ForwardTrace, k: int, answer: Any, reverse: bool) -> dict[str, Any]:
    return {
        "H": answer(trace.hidden(k, reverse)),
        "A": answer(trace.preactivation(k, reverse)),
        "gates": {name: answer(value) for name, value in trace.gates(k, reverse).items()},
    }


def _states(trace: ForwardTrace, k: int, answer: Any, reverse: bool) -> dict[str, Any]:
    """The layer's states: H, and the cell state C of an LSTM (it is among the gates)."""
    cell_state = trace.gates(k, reverse).get("C")
    layer = {"H": answer(trace.hidden(k, reverse))}
    if cell_state is not None:
        layer["C"] = answer(cell_state)
    return layer


def pytorch_grads(trace: ForwardTrace, result: BackwardResult) -> dict[str, Array]:
    return grads_to_pytorch(trace.config, result.grads)


def backward_payload(run: Pass, states_only: bool = False) -> dict[str, Any]:
    """BackwardResponse: loss, outputs, PyTorch-named grads and the per-timestep trace.
    states_only (`?fields=states`): no dA per layer, a function of dH, dC and the forward
    trace. Its arrays stay NumPy arrays (float64) for FastJSONResponse."""
    trace, result, batched, jacobian_norms = run.trace, run.result, run.batched, run.jacobian_norms
    assert result is not None

    def answer(array: Array, name: str = "trace") -> Any:
        return as_sent(array if batched else array[0], name)

    cfg = trace.config
    grads = pytorch_grads(trace, result)
    names = layer_parameter_names(cfg.cell)
    layers = []
    for k in range(cfg.num_layers):
        layer = _backward_layer(result, k, False, answer, names, states_only)
        layer["jacobian_norms"] = None if jacobian_norms is None else to_list(jacobian_norms[k])
        if cfg.bidirectional:
            layer["reverse"] = _backward_layer(result, k, True, answer, names, states_only)
        layers.append(layer)
    head_norms = {
        n: to_list(result.step_grad_norms[n])
        for n in ("W_hq", "b_q")
        if n in result.step_grad_norms
    }
    return {
        "loss": result.loss,
        "outputs": answer(trace.Y),
        "logits": answer(trace.O),
        "grads": {name: as_sent(value, "grads") for name, value in grads.items()},
        "grad_norms": {name: float(np.linalg.norm(value)) for name, value in grads.items()},
        "trace": {
            "dO": answer(result.dO),
            "layers": layers,
            "head": {"step_grad_norms": head_norms},
        },
    }


def _backward_layer(
    result: BackwardResult,
    k: int,
    reverse: bool,
    answer: Any,
    names: tuple[str, ...],
    states_only: bool,
) -> dict[str, Any]:
    """One direction of layer k: dH, dA, dC and dH_norm by input step; step_grad_norms by the
    direction's own steps (the reverse direction's s-th is the s-th step it reads)."""
    prefix = f"layer{k}_reverse" if reverse else f"layer{k}"
    norms, full = result.step_grad_norms, result.step_grads
    dH = result.dH(k, reverse)  # (B, T, H), by input step
    layer = {
        "dH": answer(dH),
        "dA": None if states_only else answer(result.dA(k, reverse)),
        "dH_norm": as_sent(
            reverse_dH_norm(result, k) if reverse else result.grad_norm_per_step[k],
            "dH_norm",
        ),
        "step_grad_norms": {n: to_list(norms[f"{prefix}.{n}"]) for n in names} if norms else {},
        "step_grads": None if full is None else {n: to_list(full[f"{prefix}.{n}"]) for n in names},
        "jacobian_norms": None,
        "dC": _cell_state_grad(result, k, reverse),
    }
    if states_only:
        del layer["dA"]
    return layer


def _cell_state_grad(result: BackwardResult, layer: int, reverse: bool = False) -> Any:
    """The LSTM's total dL/dC_t (T, H) of sequence 0 in one layer (by input step); None for the
    other cells."""
    dC = result.unit(layer, reverse).dC  # (T, B, H)
    if dC is None:
        return None
    if reverse:
        dC = result.steps.reversed(dC)
    return as_sent(dC[:, 0], "dC")


def reverse_dH_norm(result: BackwardResult, k: int) -> Array:
    """(T,) ‖dL/dH←_t‖ of layer k's reverse direction over the batch, by input step."""
    dH = result.dH(k, True)  # (B, T, H)
    return np.asarray(np.sqrt(np.einsum("bth,bth->t", dH, dH)))
