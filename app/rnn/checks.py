"""The checks of a pass's arrays against the model: inputs, initial states and targets, cast to
the model's dtype; ShapeError says what is wrong."""

import numpy as np

from app.rnn.arrays import Array, check_finite
from app.rnn.config import ModelConfig
from app.rnn.errors import ShapeError


def checked_input(config: ModelConfig, X: Array, dtype: np.dtype) -> Array:
    """X (B, T, D), or one sequence (T, D) as a batch of one."""
    given = np.asarray(X, dtype=dtype)
    X = given[None] if given.ndim == 2 else given
    if X.ndim != 3 or X.shape[2] != config.input_size or X.shape[0] < 1 or X.shape[1] < 1:
        raise ShapeError(
            f"inputs have shape {given.shape}, expected (B, T, {config.input_size}) or "
            f"(T, {config.input_size}) with B, T ≥ 1"
        )
    check_finite("inputs", X)
    return X


def checked_state(
    config: ModelConfig, name: str, S0: Array | None, B: int, dtype: np.dtype
) -> Array:
    """An initial state (L·directions, B, H), or (L·directions, H) for a batch of one; zeros
    when None."""
    shape = (config.num_layers * config.directions, B, config.hidden_size)
    if S0 is None:
        return np.zeros(shape, dtype=dtype)
    S0 = np.asarray(S0, dtype=dtype)
    if B == 1 and S0.shape == (shape[0], shape[2]):
        S0 = S0[:, None]  # the state of a single sequence: (L, H)
    if S0.shape != shape:
        units = "(L·2, B, H)" if config.bidirectional else "(L, B, H)"
        raise ShapeError(f"{name} has shape {S0.shape}, expected {units} = {shape}")
    check_finite(name, S0)
    return S0


def checked_targets(
    config: ModelConfig, targets: Array, output_shape: tuple[int, ...], dtype: np.dtype
) -> Array:
    """Targets cast and checked against the output shape (B, T, Q) / (B, Q).

    For a batch of one the batch axis may be left out: (T, Q) / (Q,), or class indices
    (T,) / ().
    """
    cfg = config
    targets = np.asarray(targets)
    batched = (output_shape, output_shape[:-1])
    unbatched = (output_shape[1:], output_shape[1:-1])
    if output_shape[0] == 1 and targets.shape not in batched and targets.shape in unbatched:
        targets = targets[None]
    if cfg.loss == "cross_entropy" and targets.shape == output_shape[:-1]:
        if not np.issubdtype(targets.dtype, np.integer):
            if not np.all(np.equal(np.mod(targets, 1), 0)):
                raise ShapeError("class-index targets must be whole numbers")
            targets = targets.astype(np.int64)
        low, high = int(targets.min(initial=0)), int(targets.max(initial=0))
        if low < 0 or high >= cfg.output_size:
            raise ShapeError(
                f"class-index targets must lie in [0, {cfg.output_size - 1}], "
                f"found {low if low < 0 else high}"
            )
        return targets
    if targets.shape != output_shape:
        allowed = f"{output_shape}"
        if cfg.loss == "cross_entropy":
            allowed += f" (probabilities) or {output_shape[:-1]} (class indices)"
        raise ShapeError(f"targets have shape {targets.shape}, expected {allowed}")
    targets = targets.astype(dtype)
    check_finite("targets", targets)
    if cfg.loss == "bce" and (targets.min() < 0 or targets.max() > 1):
        raise ShapeError("bce targets must lie in [0, 1]")
    return targets
