"""Spiral: three interleaved 2-D spirals, one class each — the one-step baseline.

With T = 1 and H_0 = 0 the recurrence has nothing to recur on: H_1 = φ(X W_xh + b_h) is a
feed-forward layer, and `num_layers` = 2 stacks two of them under the head, the classic
input–hidden–hidden–output net. Trained with sigmoid and with ReLU side by side, the per-layer
gradient norms of each report show why sigmoid learns slower: σ' ≤ 1/4 shrinks every layer's
gradient. As in the tutorial, accuracy is measured on the training points.
"""

from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import IntArray, Param, Sample, Targets, Task, validation_size
from app.tasks.data import ArrayData, split_indices
from app.tasks.metrics import Metrics, classification_info, classification_metrics

PARAMS = {
    "points": Param("int", 100, "points per class", min=10, max=2000),
    "classes": Param("int", 3, "number of spiral arms (classes)", min=2, max=8),
    "noise": Param("float", 0.2, "σ of the angular noise", min=0.0, max=1.0),
}


def spirals(
    points: int, classes: int, noise: float, rng: np.random.Generator
) -> tuple[Array, IntArray]:
    """(N, 2) points and (N,) labels, N = points · classes; arm k turns through 4 radians."""
    radius = np.tile(np.linspace(0.0, 1.0, points), classes)
    labels = np.repeat(np.arange(classes), points)
    angle = labels * 4.0 + np.tile(np.linspace(0.0, 4.0, points), classes)
    angle = angle + noise * rng.standard_normal(points * classes)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, labels


def _sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    X, labels = spirals(params["points"], params["classes"], params["noise"], rng)
    pick = rng.choice(len(labels), size=min(batch_size, len(labels)), replace=False)
    return Sample(X[pick, None, :], labels[pick], {"points": X[pick].tolist()})


def metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    return classification_metrics(Y, targets)


def _data(
    params: dict[str, Any], seed: int, validation_fraction: float | None, max_elements: int | None
) -> ArrayData:
    rng = np.random.default_rng([seed, 0x5B1])
    X, labels = spirals(params["points"], params["classes"], params["noise"], rng)
    held_out = validation_size(validation_fraction, 0.0, len(labels))
    train, val = split_indices(len(labels), held_out, rng)
    X = X[:, None, :]  # T = 1
    if held_out == 0:
        return ArrayData(X, labels, None, None, metrics)
    return ArrayData(X[train], labels[train], X[val], labels[val], metrics)


def _sizes(params: dict[str, Any]) -> dict[str, Any]:
    return {"output_size": params["classes"]}


TASK = Task(
    name="spiral",
    title="Spiral (one step: a feed-forward net)",
    description=(
        "Three interleaved 2-D spirals, one class each, fed as sequences of length 1: with no "
        "past to remember, the RNN is a plain feed-forward layer, and two stacked layers make "
        "the classic 3-layer net. Compare sigmoid and ReLU: the per-layer gradient norms show "
        "why sigmoid learns slower."
    ),
    params=PARAMS,
    default_config={
        "cell": "rnn",
        "input_size": 2,
        "hidden_size": 50,
        "output_size": 3,
        "num_layers": 2,
        "nonlinearity": "relu",
        "head": "softmax",
        "loss": "cross_entropy",
        "output_mode": "last",
        "init": "pytorch",
        "seed": 0,
    },
    default_training={
        "optimizer": "sgd",
        "lr": 1.0,
        "batch_size": 300,
        "steps": 3000,
        "report_every": 100,
        "early_stop": {"metric": "accuracy", "target": 0.99},
    },
    sampler=_sample,
    data_factory=_data,
    metrics_fn=metrics,
    metric_info=classification_info(lambda p: p["classes"]),
    sizes=_sizes,
)
