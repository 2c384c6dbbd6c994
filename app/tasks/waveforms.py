"""Many-to-one classification: which waveform is this — sine, square, triangle or sawtooth?

The network reads (T, 1) values of a noisy wave with random frequency, phase and amplitude and
outputs one vector of class scores after the last step: "(T, D) in, one vector out".
"""

from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import IntArray, Param, Sample, Targets, Task
from app.tasks.data import GeneratedData
from app.tasks.metrics import Metrics, classification_info, classification_metrics

SHAPES = ("sine", "square", "triangle", "sawtooth")

PARAMS = {
    "length": Param("int", 32, "T: samples per sequence", min=4, max=1000),
    "noise": Param("float", 0.1, "σ of Gaussian noise added to every sample", min=0.0, max=2.0),
}


def waves(kind: IntArray, cycles: Array) -> Array:
    """kind (B,) class indices, cycles (B, T) phase in cycles → (B, T) values in [−1, 1]."""
    frac = cycles % 1.0
    table = np.stack(
        [
            np.sin(2 * np.pi * cycles),
            np.where(frac < 0.5, 1.0, -1.0),
            4.0 * np.abs(frac - 0.5) - 1.0,
            2.0 * frac - 1.0,
        ]
    )  # (4, B, T)
    return table[kind, np.arange(kind.shape[0])]


def _sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    T = params["length"]
    kind = rng.integers(0, len(SHAPES), batch_size)
    frequency = rng.uniform(0.03, 0.15, batch_size)  # cycles per step: 1 to 5 cycles at T = 32
    phase = rng.uniform(0.0, 1.0, batch_size)
    amplitude = rng.uniform(0.5, 1.5, batch_size)
    cycles = phase[:, None] + frequency[:, None] * np.arange(T)
    X = amplitude[:, None] * waves(kind, cycles)
    X = X + params["noise"] * rng.standard_normal(X.shape)
    return Sample(X[:, :, None], kind, {"shape": [SHAPES[k] for k in kind]})


def metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    """Y (B, 4) probabilities, targets (B,) → accuracy, cross-entropy, accuracy per shape."""
    result = classification_metrics(Y, targets)
    hits = np.argmax(Y, axis=-1) == targets
    result["class_accuracy"] = [
        float(hits[targets == k].mean()) if np.any(targets == k) else None
        for k in range(len(SHAPES))
    ]
    return result


TASK = Task(
    name="waveforms",
    title="Which waveform? (many-to-one)",
    description=(
        "A noisy wave is read one sample at a time — sine, square, triangle or sawtooth, with "
        "random frequency, phase and amplitude — and only after the last step does the network "
        "answer with one vector of class probabilities: a (T, 1) sequence in, one label out."
    ),
    params=PARAMS,
    default_config={
        "cell": "gru",
        "input_size": 1,
        "hidden_size": 32,
        "output_size": len(SHAPES),
        "head": "softmax",
        "loss": "cross_entropy",
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
        "report_every": 50,
        "early_stop": {"metric": "accuracy", "target": 0.97},
    },
    sampler=_sample,
    data_factory=lambda params, seed, fraction, max_elements: GeneratedData(
        lambda rng, B: _sample(rng, B, params), metrics, seed, max_elements=max_elements
    ),
    metrics_fn=metrics,
    metric_info=classification_info(lambda p: len(SHAPES)),
)
