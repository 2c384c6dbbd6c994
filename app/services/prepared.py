"""A request's arrays checked against the model and the limits, in the engine's layout.

Arrays come as the client gave them: one sequence (T, D) or a batch (B, T, D); h0, c0 (L, H) or
(L, B, H), where L counts each direction of a bidirectional layer (PyTorch's h_0: L·2); targets
(T_out, Q) or class indices (T_out,), with B in front when the inputs had it; lengths (B,).
"""

from dataclasses import dataclass

import numpy as np

from app.rnn import ModelConfig
from app.rnn.arrays import Array
from app.services.errors import InputError
from app.services.limits import Limits


@dataclass
class PreparedData:
    """A request's arrays in the engine's layout: X (B, T, D), H0/C0 (L, B, H), targets with a
    batch axis, lengths (B,) integers or None; `batched` says whether the answer keeps it."""

    X: Array
    H0: Array | None
    C0: Array | None
    targets: Array | None
    batched: bool
    lengths: Array | None = None


def prepare(
    limits: Limits,
    config: ModelConfig,
    inputs: Array,
    h0: Array | None = None,
    c0: Array | None = None,
    targets: Array | None = None,
    needs_targets: bool = False,
    answered: bool = True,
    lengths: Array | None = None,
) -> PreparedData:
    """Check a request's arrays and give them a batch axis; `answered`: the whole trace is
    answered (its size bounded). InputError names the field (`lengths[i]` for a bad length)."""
    batched = inputs.ndim == 3
    X = inputs if batched else inputs[None]
    B, T, D = X.shape
    limits.data(config, B, T)
    if answered:
        limits.answer(config, B, T)
    if config.input_size != D:
        raise InputError(
            "inputs",
            f"inputs have D = {D} inputs per step, the model expects {config.input_size}",
        )
    H0 = _state("h0", h0, config, B, batched)
    C0 = _state("c0", c0, config, B, batched)
    if C0 is not None and config.cell != "lstm":
        raise InputError("c0", f"c0 is the lstm's cell state; this model is a {config.cell}")
    prepared_targets = None
    if targets is not None:
        prepared_targets = _targets(targets, config, B, T, batched)
    elif needs_targets:
        raise InputError("targets", "targets are required for a backward pass")
    return PreparedData(X, H0, C0, prepared_targets, batched, checked_lengths(lengths, B, T))


def checked_lengths(lengths: Array | None, B: int, T: int) -> Array | None:
    """lengths (B,): each a whole number in 1…T (the steps of sequence b that are real)."""
    if lengths is None:
        return None
    if lengths.shape != (B,):
        raise InputError(
            "lengths", f"lengths has shape {lengths.shape}, expected one per sequence: ({B},)"
        )
    for i, value in enumerate(lengths.tolist()):
        if not float(value).is_integer() or not 1 <= value <= T:
            raise InputError(
                f"lengths[{i}]",
                f"lengths[{i}] = {value:g}: a length is a whole number of steps in 1…T = {T}",
            )
    return lengths.astype(np.int64)


def _state(field: str, S: Array | None, config: ModelConfig, B: int, batched: bool) -> Array | None:
    if S is None:
        return None
    L, H = config.num_layers * config.directions, config.hidden_size
    if S.shape == (L, H):
        return np.ascontiguousarray(np.broadcast_to(S[:, None], (L, B, H)))
    if batched and S.shape == (L, B, H):
        return S
    expected = f"(L, H) = {(L, H)}" + (f" or (L, B, H) = {(L, B, H)}" if batched else "")
    if config.bidirectional:
        expected += " (L counts both directions of each layer)"
    raise InputError(field, f"{field} has shape {S.shape}, expected {expected}")


def _targets(Y: Array, config: ModelConfig, B: int, T: int, batched: bool) -> Array:
    """(T_out, Q), or class indices (T_out,) for cross-entropy, with B in front when the
    inputs had it; T_out = T in "sequence" mode, no axis in "last" mode."""
    step_axes = (T,) if config.output_mode == "sequence" else ()
    shape = (*step_axes, config.output_size)
    allowed = [shape]
    if config.loss == "cross_entropy":
        allowed.append(shape[:-1])
    if batched:
        allowed = [(B, *s) for s in allowed]
    if Y.shape not in allowed:
        described = " or ".join(str(s) for s in allowed)
        raise InputError("targets", f"targets have shape {Y.shape}, expected {described}")
    return Y if batched else Y[None]
