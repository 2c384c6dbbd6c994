"""The LSTM layer, PyTorch's gates (i, f, g, o) and cell state, step by step."""

import numpy as np
import pytest
import torch

from app.rnn.config import ModelConfig

from .torch_reference import (
    as_tensor,
    assert_close,
    check_trace_against_torch,
    network_from_state,
    random_state,
    torch_cell,
    unroll,
)


def lstm_config(**overrides: object) -> ModelConfig:
    options: dict = {"input_size": 3, "hidden_size": 4, "output_size": 2, "num_layers": 2}
    options.update(overrides)
    return ModelConfig(cell="lstm", **options)


@pytest.mark.parametrize("mode", ["sequence", "last"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("given_state", [True, False])
def test_every_step_of_the_trace_matches_torch(mode: str, layers: int, given_state: bool) -> None:
    config = lstm_config(num_layers=layers, output_mode=mode)
    check_trace_against_torch(config, seed=layers, B=3, T=8, given_state=given_state)


@pytest.mark.parametrize("truncate", [1, 2, 5])
def test_truncated_trace_matches_torch_detaching_h_and_c_every_k_steps(truncate: int) -> None:
    check_trace_against_torch(lstm_config(), seed=truncate, B=2, T=11, truncate=truncate)


def test_trace_of_200_steps_matches_torch() -> None:
    # Scaled-down weights keep 200 steps well-conditioned; see test_network.
    config = lstm_config(num_layers=1, hidden_size=5)
    check_trace_against_torch(config, seed=200, B=2, T=200, scale=0.5)


def test_gates_are_torchs_i_f_g_o_in_that_order() -> None:
    config = lstm_config(num_layers=1)
    rng = np.random.default_rng(0)
    state = random_state(config, rng)
    X = rng.normal(size=(2, 5, 3))
    trace = network_from_state(config, state).forward(X)
    ref = unroll(config, state, X)
    A = np.stack([parts[0].detach().numpy() for parts in ref.A[0]], axis=1)
    A_i, A_f, A_g, A_o = np.split(A, 4, axis=-1)
    sigmoid = torch.sigmoid
    expected = {
        "i": sigmoid(torch.tensor(A_i)),
        "f": sigmoid(torch.tensor(A_f)),
        "g": torch.tanh(torch.tensor(A_g)),
        "o": sigmoid(torch.tensor(A_o)),
    }
    gates = trace.gates()
    assert set(gates) == {"i", "f", "g", "o", "C"}
    for name, value in expected.items():
        assert_close(gates[name], value.numpy(), f"gate {name}", axes=("batch", "step", "unit"))


def test_one_step_sequence_equals_one_torch_lstm_cell_step() -> None:
    config = lstm_config(num_layers=1)
    rng = np.random.default_rng(1)
    state = random_state(config, rng)
    X = rng.normal(size=(4, 1, 3))
    h0, c0 = rng.normal(size=(1, 4, 4)), rng.normal(size=(1, 4, 4))
    trace = network_from_state(config, state).forward(X, h0, c0)
    h1, c1 = torch_cell(config, state)(
        as_tensor(X[:, 0], torch.float64),
        (as_tensor(h0[0], torch.float64), as_tensor(c0[0], torch.float64)),
    )
    assert_close(trace.hidden()[:, 0], h1.detach().numpy(), "H_1", axes=("batch", "unit"))
    assert_close(trace.gates()["C"][:, 0], c1.detach().numpy(), "C_1", axes=("batch", "unit"))
