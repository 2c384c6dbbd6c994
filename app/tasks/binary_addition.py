"""Binary addition: the network reads two numbers bit by bit, least significant first, and
writes their sum bit by bit — it must learn to carry.

X_t = (a_t, b_t), the t-th bits of a and b; the target at step t is the t-th bit of a + b.
Operands have `bits` − 1 bits, so every sum fits in `bits` bits (for 8 bits: all 128 × 128 pairs).
"""

from typing import Any

import numpy as np

from app.rnn import Network
from app.rnn.arrays import Array
from app.tasks.base import (
    IntArray,
    Param,
    Sample,
    Targets,
    Task,
    forward_in_chunks,
    validation_size,
)
from app.tasks.data import ArrayData, split_indices
from app.tasks.metrics import Metrics, accuracy_info

PARAMS = {
    "bits": Param("int", 8, "bits of the sum; operands have one bit fewer", min=2, max=8),
}


def to_bits(values: IntArray, bits: int) -> Array:
    """(N,) integers → (N, bits) of 0/1, least significant bit first."""
    return ((values[:, None] >> np.arange(bits)) & 1).astype(np.float64)


def from_bits(B: Array) -> IntArray:
    """(N, bits) of 0/1, least significant first → (N,) integers."""
    return (B.astype(np.int64) << np.arange(B.shape[1])).sum(axis=1)


def encode(a: IntArray, b: IntArray, bits: int) -> tuple[Array, Array]:
    """Operands (N,), (N,) → inputs X (N, bits, 2) and targets (N, bits, 1)."""
    X = np.stack([to_bits(a, bits), to_bits(b, bits)], axis=2)
    return X, to_bits(a + b, bits)[:, :, None]


def all_pairs(bits: int) -> tuple[IntArray, IntArray]:
    """Every pair (a, b) with a, b < 2^(bits−1): (N,), (N,) with N = 4^(bits−1)."""
    half = 1 << (bits - 1)
    a, b = np.divmod(np.arange(half * half), half)
    return a, b


def metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    """Y, targets: (N, bits, 1). accuracy: fraction of sums with every bit right;
    bits_right: the fraction of bits right; bit_accuracy: (bits,) per bit, least significant
    first."""
    right = (Y[..., 0] > 0.5) == (targets[..., 0] > 0.5)
    return {
        "accuracy": float(np.mean(right.all(axis=1))),
        "bits_right": float(right.mean()),
        "bit_accuracy": [float(v) for v in right.mean(axis=0)],
    }


def _sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    bits = params["bits"]
    a = rng.integers(0, 1 << (bits - 1), batch_size)
    b = rng.integers(0, 1 << (bits - 1), batch_size)
    X, y = encode(a, b, bits)
    return Sample(X, y, {"a": a.tolist(), "b": b.tolist(), "sum": (a + b).tolist()})


def _data(
    params: dict[str, Any], seed: int, validation_fraction: float | None, max_elements: int | None
) -> ArrayData:
    """Pairs split at random: the held-out pairs are never trained on."""
    bits = params["bits"]
    a, b = all_pairs(bits)
    X, y = encode(a, b, bits)
    held_out = validation_size(validation_fraction, 0.5, len(a))
    train, val = split_indices(len(a), held_out, np.random.default_rng([seed, 0xADD]))

    def all_pairs_metrics(net: Network) -> Metrics:
        result = metrics(forward_in_chunks(net, X, 4096), y)
        return {"accuracy_all_pairs": result["accuracy"], "bit_accuracy": result["bit_accuracy"]}

    return ArrayData(X[train], y[train], X[val], y[val], metrics, all_pairs_metrics)


TASK = Task(
    name="binary_addition",
    title="Binary addition",
    description=(
        "Two numbers are fed one bit at a time, least significant bit first (2 inputs per step), "
        "and the network outputs the bits of their sum through a sigmoid. To get it right it "
        "must remember the carry from one step to the next. Accuracy counts sums that are "
        "entirely right on pairs held out from training, and is also given per bit."
    ),
    params=PARAMS,
    default_config={
        "cell": "rnn",
        "input_size": 2,
        "hidden_size": 16,
        "output_size": 1,
        "nonlinearity": "tanh",
        "head": "sigmoid",
        "loss": "bce",
        "output_mode": "sequence",
        "init": "pytorch",
        "seed": 0,
    },
    default_training={
        "optimizer": "adam",
        "lr": 0.02,
        "batch_size": 32,
        "steps": 3000,
        "report_every": 100,
        "early_stop": {"metric": "accuracy", "target": 1.0},
    },
    sampler=_sample,
    data_factory=_data,
    metrics_fn=metrics,
    other_losses=("mse",),
    metric_info={
        # A fair coin per bit gets a bit right half the time and a whole sum 2^−bits of it.
        "accuracy": accuracy_info("sums with every bit right", lambda p: 0.5 ** p["bits"]),
        "accuracy_all_pairs": accuracy_info(
            "sums with every bit right over all pairs", lambda p: 0.5 ** p["bits"]
        ),
        "bits_right": accuracy_info("bits right", lambda p: 0.5),
    },
)
