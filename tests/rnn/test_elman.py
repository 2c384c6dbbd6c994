"""The vanilla (Elman) RNN layer: H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h), step by step."""

import numpy as np
import pytest
import torch

from app.rnn.config import ModelConfig
from app.rnn.network import Network

from .torch_reference import (
    as_tensor,
    assert_close,
    check_trace_against_torch,
    network_from_state,
    random_state,
    torch_cell,
)

NONLINEARITIES = ["tanh", "sigmoid", "relu", "identity"]


def rnn_config(nonlinearity: str, **overrides: object) -> ModelConfig:
    options: dict = {"input_size": 3, "hidden_size": 4, "output_size": 2, "num_layers": 2}
    options.update(overrides)
    return ModelConfig(cell="rnn", nonlinearity=nonlinearity, **options)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("mode", ["sequence", "last"])
@pytest.mark.parametrize("layers", [1, 3])
def test_every_step_of_the_trace_matches_torch(nonlinearity: str, mode: str, layers: int) -> None:
    config = rnn_config(nonlinearity, num_layers=layers, output_mode=mode)
    check_trace_against_torch(config, seed=layers, B=3, T=9)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("truncate", [1, 3, 5])
def test_truncated_trace_matches_torch_detaching_every_k_steps(
    nonlinearity: str, truncate: int
) -> None:
    check_trace_against_torch(rnn_config(nonlinearity), seed=truncate, B=2, T=11, truncate=truncate)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_trace_of_200_steps_matches_torch(nonlinearity: str) -> None:
    # Scaled-down weights (ρ(W_hh) ≈ 0.3) keep 200 steps well-conditioned; see test_network.
    config = rnn_config(nonlinearity, num_layers=1, hidden_size=6)
    check_trace_against_torch(config, seed=200, B=2, T=200, scale=0.5)


def test_trace_without_initial_state_matches_torch() -> None:
    check_trace_against_torch(rnn_config("tanh"), seed=4, B=5, T=6, given_state=False)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_one_step_sequence_equals_one_torch_rnn_cell_step(nonlinearity: str) -> None:
    config = rnn_config(nonlinearity, num_layers=1)
    rng = np.random.default_rng(0)
    state = random_state(config, rng)
    X = rng.normal(size=(5, 1, 3))
    h0 = rng.normal(size=(1, 5, 4))
    H = network_from_state(config, state).forward(X, h0).hidden()
    h1 = torch_cell(config, state)(
        as_tensor(X[:, 0], torch.float64), as_tensor(h0[0], torch.float64)
    )
    assert_close(H[:, 0], h1.detach().numpy(), "H_1", axes=("batch", "unit"))


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_hidden_state_is_the_equation_written_out(nonlinearity: str) -> None:
    config = rnn_config(nonlinearity, num_layers=1)
    net = Network(config)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2, 4, 3))
    p = net.params
    phi = {
        "tanh": np.tanh,
        "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
        "relu": lambda a: np.maximum(a, 0.0),
        "identity": lambda a: a,
    }[nonlinearity]
    H_prev = np.zeros((2, 4))
    expected = []
    for t in range(4):
        H_prev = phi(X[:, t] @ p["layer0.W_xh"] + H_prev @ p["layer0.W_hh"] + p["layer0.b_h"])
        expected.append(H_prev)
    assert_close(
        net.forward(X).hidden(),
        np.stack(expected, axis=1),
        "H_t",
        tol=1e-12,
        axes=("batch", "step", "unit"),
    )


def test_relu_gradient_at_exactly_zero_is_zero_as_in_torch() -> None:
    config = rnn_config("relu", num_layers=1)
    rng = np.random.default_rng(2)
    state = random_state(config, rng)
    state["rnn.bias_ih_l0"][:] = 0.0
    state["rnn.bias_hh_l0"][:] = 0.0
    net = network_from_state(config, state)
    X = np.zeros((1, 3, 3))  # every pre-activation is exactly 0
    trace = net.forward(X)
    result = net.backward(trace, np.ones((1, 3, 2)))
    assert np.all(trace.preactivation() == 0.0)
    assert np.all(result.dA() == 0.0)
    assert np.all(result.grads["layer0.W_hh"] == 0.0)
