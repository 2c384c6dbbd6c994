"""Sine wave: predict the next value of x_t = sin(2π f t + φ) + noise from the last T values.

"next" is many-to-one (one output after T steps); "sequence" predicts x_{t+1} at every step.
Targets are the clean signal, so noise on the inputs does not set a floor on the error.

`encoding` "value" feeds X_t = x_t (D = 1). "position" feeds what the from-scratch sine tutorial
feeds: X_t = x_t e_t, a T-vector that is zero except x_t at position t (D = T), so that step t's
X_t W_xh is x_t times row t of W_xh — a different input weight at every step.
"""

from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import Param, Sample, Targets, Task
from app.tasks.data import GeneratedData
from app.tasks.metrics import REGRESSION_INFO, Metrics, regression_metrics

PARAMS = {
    "length": Param("int", 50, "T: how many past values the network reads", min=2, max=1000),
    "frequency": Param("float", 0.05, "f in cycles per step", min=0.001, max=0.5),
    "phase": Param("float", 0.0, "φ in radians (used when random_phase is off)", min=0, max=6.3),
    "random_phase": Param("bool", True, "start every sequence at a random phase"),
    "noise": Param("float", 0.0, "σ of Gaussian noise added to the inputs", min=0.0, max=1.0),
    "mode": Param(
        "choice",
        "next",
        "next: one prediction after T steps; sequence: a prediction at every step",
        choices=("next", "sequence"),
    ),
    "encoding": Param(
        "choice",
        "value",
        "value: X_t = x_t (one input); position: the from-scratch tutorial's X_t = x_t·e_t, "
        "T inputs zero except at position t",
        choices=("value", "position"),
    ),
}


def _sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    T, f = params["length"], params["frequency"]
    if params["random_phase"]:
        phase = rng.uniform(0.0, 2 * np.pi, batch_size)
    else:
        phase = np.full(batch_size, params["phase"])
    t = np.arange(T + 1)
    clean = np.sin(2 * np.pi * f * t[None, :] + phase[:, None])  # (B, T + 1)
    X = clean[:, :T] + params["noise"] * rng.standard_normal((batch_size, T))
    y = clean[:, 1:, None] if params["mode"] == "sequence" else clean[:, T:]
    # (B, T, 1), or (B, T, T) with X_t = x_t e_t: the diagonal holds the values
    inputs = X[:, :, None] * np.eye(T) if params["encoding"] == "position" else X[:, :, None]
    return Sample(inputs, y, {"phase": phase.tolist(), "signal_variance": 0.5})


def metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    """mse and relative_mse = mse / Var(targets) (about 0.5 for a unit sine)."""
    return regression_metrics(Y, targets)


def _sizes(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_size": params["length"] if params["encoding"] == "position" else 1,
        "output_mode": "sequence" if params["mode"] == "sequence" else "last",
    }


def _data(
    params: dict[str, Any], seed: int, validation_fraction: float | None, max_elements: int | None
) -> GeneratedData:
    return GeneratedData(lambda rng, B: _sample(rng, B, params), metrics, seed, 256, max_elements)


TASK = Task(
    name="sine",
    title="Sine wave",
    description=(
        "The network reads the last T values of a sine wave (optionally noisy) and predicts the "
        "next one — once at the end (many-to-one) or at every step (sequence to sequence). "
        "The error is reported relative to the signal's variance: below 0.01 means the "
        "prediction misses by less than 1 % of it."
    ),
    params=PARAMS,
    default_config={
        "cell": "rnn",
        "input_size": 1,
        "hidden_size": 32,
        "output_size": 1,
        "nonlinearity": "tanh",
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
        "steps": 600,
        "report_every": 50,
        "clip": 1.0,
        "early_stop": {"metric": "relative_mse", "target": 0.002, "mode": "min"},
    },
    sampler=_sample,
    data_factory=_data,
    metrics_fn=metrics,
    metric_info=REGRESSION_INFO,
    sizes=_sizes,
)
