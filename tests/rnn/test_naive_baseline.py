"""The benchmark's naive per-timestep implementation computes what the engine computes, so the
benchmark's third column times the same work done the tutorial way."""

import numpy as np
import pytest

from app.rnn.config import ModelConfig
from app.rnn.network import Network
from benchmarks import naive

from .torch_reference import assert_close

# (loss, head, output mode) as the benchmark's workloads use them.
WORKLOADS = [
    ("mse", "identity", "sequence"),
    ("bce", "sigmoid", "sequence"),
    ("cross_entropy", "softmax", "sequence"),
    ("cross_entropy", "softmax", "last"),
]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("loss", "head", "mode"), WORKLOADS)
def test_the_naive_loop_gives_the_engines_loss_and_gradients(
    cell: str, loss: str, head: str, mode: str
) -> None:
    config = ModelConfig(
        input_size=3,
        hidden_size=5,
        output_size=4,
        cell=cell,  # type: ignore[arg-type]
        head=head,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        output_mode=mode,  # type: ignore[arg-type]
        seed=3,
    )
    net = Network(config)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 6, 3))
    lead = (2, 6) if mode == "sequence" else (2,)
    if loss == "cross_entropy":
        targets = rng.integers(0, 4, size=lead)
    else:
        targets = rng.integers(0, 2, size=(*lead, 4)).astype(float)
    result = net.backward(net.forward(X), targets)
    value, grads = naive.forward_backward(cell, net.params, X, targets, loss, mode)
    assert_close(value, result.loss, "naive loss")
    assert set(grads) == set(result.grads)
    for name, expected in result.grads.items():
        assert_close(grads[name], expected, f"naive gradient of {name}")
