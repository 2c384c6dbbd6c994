"""The user's own arrays as training data: inputs (N, T, D) and targets fitted to the model."""

import numpy as np

from app.rnn import Network, RNNError
from app.rnn.arrays import Array
from app.tasks.base import Targets, TaskError, validation_size
from app.tasks.data import ArrayData, split_indices
from app.tasks.metrics import metrics_for_loss


def array_data(
    net: Network,
    inputs: Array,
    targets: Targets,
    validation_fraction: float | None,
    seed: int,
    max_elements: int | None = None,
) -> tuple[ArrayData, Array, Array]:
    """Check inputs (N, T, D) (at most `max_elements` numbers) and targets against `net` and
    split them at random (default: no validation set) → (data, inputs, targets) as checked
    arrays. One sequence may be given as inputs (T, D) with its targets (T, Q) / (Q,), or class
    indices (T,) / ()."""
    X = np.asarray(inputs, dtype=np.float64)
    one_sequence = X.ndim == 2
    if one_sequence:
        X = X[None]
    if X.ndim != 3:
        raise TaskError(f"inputs must be (N, T, D) or (T, D), got shape {X.shape}")
    if max_elements is not None and X.size > max_elements:
        raise TaskError(f"inputs hold {X.size} numbers; at most {max_elements} are allowed")
    if not np.isfinite(X).all():
        raise TaskError("inputs contain NaN or Inf")
    y = np.asarray(targets)
    try:
        probe = net.forward(X[:1])
        if one_sequence:
            y = y[None]  # the targets of that one sequence
        y = net.checked_targets(y, (X.shape[0], *probe.O.shape[1:]))
    except RNNError as error:
        raise TaskError(f"data does not fit the model: {error}") from None
    held_out = validation_size(validation_fraction, 0.0, X.shape[0])
    train, val = split_indices(X.shape[0], held_out, np.random.default_rng([seed, 0xDA7A]))
    loss = net.config.loss

    def score(Y: Array, target: Targets) -> dict[str, object]:
        return metrics_for_loss(loss, Y, target)

    if held_out == 0:
        return ArrayData(X, y, None, None, score), X, y
    return ArrayData(X[train], y[train], X[val], y[val], score), X, y
