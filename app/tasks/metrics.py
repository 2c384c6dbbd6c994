"""Metrics shared by the tasks: accuracy, MSE relative to the targets' variance, perplexity.

Y are head outputs: probabilities for softmax / sigmoid heads, values for identity. Every function
returns JSON-able floats (or lists of floats) keyed by metric name.
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import Targets
from app.tasks.metric_info import MetricInfo

Metrics = dict[str, Any]


def accuracy_info(meaning: str, chance: Callable[[Mapping[str, Any]], float]) -> MetricInfo:
    """An accuracy in [0, 1] whose guessing value is chance(params)."""
    return MetricInfo(meaning, fraction=True, chance=chance)


REGRESSION_INFO = {
    "mse": MetricInfo("mean squared error", better="min"),
    "relative_mse": MetricInfo("mse / Var(targets): 1 is always answering the mean", better="min"),
}


def classification_info(classes: Callable[[Mapping[str, Any]], int]) -> dict[str, MetricInfo]:
    """accuracy (chance 1/classes) and cross-entropy of a classification over classes(params)."""
    return {
        "accuracy": accuracy_info("fraction of argmax hits", lambda p: 1.0 / classes(p)),
        "cross_entropy": MetricInfo("mean −log p(target) in nats", better="min"),
    }


def class_accuracy(Y: Array, targets: Targets) -> float:
    """Y: (..., Q) probabilities; targets: (...) class indices → fraction of argmax hits."""
    return float(np.mean(np.argmax(Y, axis=-1) == targets))


def cross_entropy(Y: Array, targets: Targets) -> float:
    """Mean −log Y[target] in nats; Y: (..., Q) probabilities, targets (...) indices."""
    picked = np.take_along_axis(Y, np.asarray(targets, dtype=np.intp)[..., None], axis=-1)
    return float(-np.mean(np.log(np.maximum(picked, 1e-300))))


def regression_metrics(Y: Array, targets: Targets) -> Metrics:
    """mse, and relative_mse = mse / Var(targets): below 0.01 means under 1 % of the variance
    (None when the targets do not vary: JSON has no NaN)."""
    mse = float(np.mean((Y - targets) ** 2))
    variance = float(np.var(targets))
    relative = mse / variance if variance > 0 else None
    return {"mse": mse, "relative_mse": relative}


def classification_metrics(Y: Array, targets: Targets) -> Metrics:
    """accuracy and cross-entropy (nats) of class-index targets."""
    return {"accuracy": class_accuracy(Y, targets), "cross_entropy": cross_entropy(Y, targets)}


def metrics_for_loss(loss: str, Y: Array, targets: Targets) -> Metrics:
    """Generic metrics for a model's loss, used for user-supplied arrays."""
    if loss == "cross_entropy":
        if targets.ndim == Y.ndim:
            targets = np.argmax(targets, axis=-1)
        return classification_metrics(Y, targets)
    if loss == "bce":
        return {"accuracy": float(np.mean((Y > 0.5) == (targets > 0.5)))}
    return regression_metrics(Y, targets)
