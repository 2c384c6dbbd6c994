"""Memory tasks that show why the LSTM exists: the copy task and the adding problem.

Copy (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): K symbols, then `length` blank steps
whose last one is a "recall" marker, then K blanks during which the network must write the K
symbols back. Inputs are one-hot over A symbols + blank + marker; the target is "blank" (class A)
everywhere except the last K steps. A memoryless network can only guess: accuracy 1/A.

Adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): `length` steps of (value, mark),
values ~ U(0, 1), exactly two marks, one in each half; the target after the last step is the sum
of the two marked values. Predicting the mean, 1, gives MSE 1/6 (relative MSE 1).
"""

from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import Param, Sample, Targets, Task
from app.tasks.data import GeneratedData
from app.tasks.metrics import REGRESSION_INFO, Metrics, accuracy_info, regression_metrics

COPY_PARAMS = {
    "length": Param("int", 10, "delay: blank steps between the symbols and the recall", 1, 1000),
    "symbols": Param("int", 3, "K: how many symbols to remember", min=1, max=20),
    "alphabet": Param("int", 4, "A: how many different symbols", min=2, max=32),
}
ADDING_PARAMS = {
    "length": Param("int", 50, "T: steps in the sequence", min=2, max=1000),
}


def _copy_sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    delay, K, A = params["length"], params["symbols"], params["alphabet"]
    T = K + delay + K
    symbols = rng.integers(0, A, (batch_size, K))
    tokens = np.full((batch_size, T), A)  # A = blank, A + 1 = recall marker
    tokens[:, :K] = symbols
    tokens[:, K + delay - 1] = A + 1
    targets = np.full((batch_size, T), A)
    targets[:, T - K :] = symbols
    X = np.eye(A + 2)[tokens]
    return Sample(X, targets, {"symbols": symbols.tolist(), "recall_from": T - K})


def copy_metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    """Y: (B, T, A+1), targets (B, T). accuracy: symbols recalled right (the last K steps);
    sequence_accuracy: all K right (chance levels: 1/A and (1/A)^K, in the task's metric_info)."""
    K = int(params["symbols"]) if params else 1
    right = np.argmax(Y[:, -K:], axis=-1) == targets[:, -K:]
    return {
        "accuracy": float(right.mean()),
        "sequence_accuracy": float(right.all(axis=1).mean()),
    }


def _adding_sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    T = params["length"]
    values = rng.uniform(0.0, 1.0, (batch_size, T))
    half = max(T // 2, 1)
    first = rng.integers(0, half, batch_size)
    second = rng.integers(half, T, batch_size) if T > 1 else first
    marks = np.zeros((batch_size, T))
    rows = np.arange(batch_size)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    X = np.stack([values, marks], axis=2)
    y = (values[rows, first] + values[rows, second])[:, None]
    return Sample(X, y, {"marked": np.stack([first, second], 1).tolist(), "sum": y[:, 0].tolist()})


def adding_metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    """mse, relative_mse (1 ≈ always answering the mean), accuracy: |error| < 0.04."""
    result = regression_metrics(Y, targets)
    result["accuracy"] = float(np.mean(np.abs(Y - targets) < 0.04))
    return result


def _copy_sizes(params: dict[str, Any]) -> dict[str, Any]:
    return {"input_size": params["alphabet"] + 2, "output_size": params["alphabet"] + 1}


COPY = Task(
    name="copy",
    title="Copy task (memory)",
    description=(
        "A few symbols are shown, then a long stretch of blanks, then a recall marker: the "
        "network must write the symbols back in order. The longer the delay, the further back "
        "the gradient must travel: a vanilla RNN's vanishes, while a gated cell (the default "
        "GRU, or an LSTM) learns to hold its memory across the blanks."
    ),
    params=COPY_PARAMS,
    default_config={
        "cell": "gru",
        "input_size": 6,
        "hidden_size": 32,
        "output_size": 5,
        "head": "softmax",
        "loss": "cross_entropy",
        "output_mode": "sequence",
        "init": "pytorch",
        "seed": 0,
    },
    default_training={
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 32,
        "clip": 1.0,
        "steps": 1500,
        "report_every": 100,
        "early_stop": {"metric": "sequence_accuracy", "target": 0.99},
    },
    sampler=_copy_sample,
    data_factory=lambda params, seed, fraction, max_elements: GeneratedData(
        lambda rng, B: _copy_sample(rng, B, params),
        lambda Y, y: copy_metrics(Y, y, params),
        seed,
        max_elements=max_elements,
    ),
    metrics_fn=copy_metrics,
    sizes=_copy_sizes,
    metric_info={
        "accuracy": accuracy_info("symbols recalled right", lambda p: 1.0 / p["alphabet"]),
        "sequence_accuracy": accuracy_info(
            "sequences with all K symbols right", lambda p: (1.0 / p["alphabet"]) ** p["symbols"]
        ),
    },
)

ADDING = Task(
    name="adding",
    title="Adding problem (memory)",
    description=(
        "Each step carries a random number and a mark; exactly two numbers are marked, one in "
        "each half. After the last step the network must output their sum. Always answering 1 "
        "gives a relative MSE of 1; solving it needs memory across the whole sequence."
    ),
    params=ADDING_PARAMS,
    default_config={
        "cell": "lstm",
        "input_size": 2,
        "hidden_size": 32,
        "output_size": 1,
        "head": "identity",
        "loss": "mse",
        "output_mode": "last",
        "init": "pytorch",
        "seed": 0,
    },
    default_training={
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 32,
        "clip": 1.0,
        "steps": 1500,
        "report_every": 100,
        "early_stop": {"metric": "relative_mse", "target": 0.01, "mode": "min"},
    },
    sampler=_adding_sample,
    data_factory=lambda params, seed, fraction, max_elements: GeneratedData(
        lambda rng, B: _adding_sample(rng, B, params),
        adding_metrics,
        seed,
        max_elements=max_elements,
    ),
    metrics_fn=adding_metrics,
    metric_info={
        **REGRESSION_INFO,
        # Always answering the mean sum 1: the sum of two U(0, 1) lies within 0.04 of 1 with
        # probability 1 − (1 − 0.04)².
        "accuracy": accuracy_info("sums within 0.04", lambda p: 1.0 - (1.0 - 0.04) ** 2),
    },
)
