"""The per-step gradient norms stay accurate when the gradients are tiny: far from the loss a
float32 gradient can be 1e-25, whose square float32 cannot hold."""

import numpy as np
import pytest

from app.rnn.config import ModelConfig
from app.rnn.network import Network


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_step_norms_of_vanishing_gradients_match_the_contributions(cell: str) -> None:
    config = ModelConfig(
        input_size=3,
        hidden_size=8,
        output_size=2,
        cell=cell,  # type: ignore[arg-type]
        output_mode="last",
        dtype="float32",
        init="normal",
        init_std=0.05,
        seed=1,
    )
    net = Network(config)
    X = np.random.default_rng(0).normal(size=(3, 80, 3)).astype(np.float32)
    result = net.backward(net.forward(X), np.ones((3, 2), np.float32), step_grads="full")
    assert result.step_grads is not None
    smallest = np.inf
    for name, per_step in result.step_grads.items():
        flat = per_step.astype(np.float64).reshape(len(per_step), -1)
        exact = np.sqrt((flat * flat).sum(axis=1))
        reported = result.step_grad_norms[name].astype(np.float64)
        normal = exact >= np.finfo(np.float32).tiny  # a subnormal contribution has few digits
        error = np.abs(reported - exact)[normal] / exact[normal]
        step = int(np.flatnonzero(normal)[np.argmax(error)])
        assert error.max() <= 1e-5, (
            f"‖step contribution‖ to {name} at step {step}: reported {reported[step]!r}, "
            f"from the contribution {exact[step]!r}"
        )
        smallest = min(smallest, float(exact[normal].min()))
    assert smallest < 1e-19  # squares below float32's range were involved
