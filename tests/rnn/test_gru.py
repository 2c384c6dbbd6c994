"""The GRU layer, PyTorch's gates (r, z, n) with b_hn inside r ⊙ (H W_hn + b_hn), step by step."""

import numpy as np
import pytest
import torch

from app.rnn import weights
from app.rnn.config import ModelConfig

from .torch_reference import (
    as_tensor,
    assert_close,
    check_trace_against_torch,
    network_from_state,
    random_state,
    torch_cell,
    torch_network,
    unroll,
)


def gru_config(**overrides: object) -> ModelConfig:
    options: dict = {"input_size": 3, "hidden_size": 4, "output_size": 2, "num_layers": 2}
    options.update(overrides)
    return ModelConfig(cell="gru", **options)


@pytest.mark.parametrize("mode", ["sequence", "last"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("given_state", [True, False])
def test_every_step_of_the_trace_matches_torch(mode: str, layers: int, given_state: bool) -> None:
    config = gru_config(num_layers=layers, output_mode=mode)
    check_trace_against_torch(config, seed=layers, B=3, T=8, given_state=given_state)


@pytest.mark.parametrize("truncate", [1, 2, 5])
def test_truncated_trace_matches_torch_detaching_every_k_steps(truncate: int) -> None:
    check_trace_against_torch(gru_config(), seed=truncate, B=2, T=11, truncate=truncate)


def test_trace_of_200_steps_matches_torch() -> None:
    # Scaled-down weights keep 200 steps well-conditioned; see test_network.
    config = gru_config(num_layers=1, hidden_size=5)
    check_trace_against_torch(config, seed=200, B=2, T=200, scale=0.5)


def test_gates_are_torchs_r_z_n_in_that_order() -> None:
    config = gru_config(num_layers=1)
    rng = np.random.default_rng(0)
    state = random_state(config, rng)
    X = rng.normal(size=(2, 5, 3))
    trace = network_from_state(config, state).forward(X)
    ref = unroll(config, state, X)
    A_rz = np.stack([parts[0].detach().numpy() for parts in ref.A[0]], axis=1)
    A_n = np.stack([parts[1].detach().numpy() for parts in ref.A[0]], axis=1)
    r, z = np.split(torch.sigmoid(torch.tensor(A_rz)).numpy(), 2, axis=-1)
    gates = trace.gates()
    assert set(gates) == {"r", "z", "n"}
    axes = ("batch", "step", "unit")
    assert_close(gates["r"], r, "gate r", axes=axes)
    assert_close(gates["z"], z, "gate z", axes=axes)
    assert_close(gates["n"], np.tanh(A_n), "candidate n", axes=axes)


def test_one_step_sequence_equals_one_torch_gru_cell_step() -> None:
    config = gru_config(num_layers=1)
    rng = np.random.default_rng(1)
    state = random_state(config, rng)
    X = rng.normal(size=(4, 1, 3))
    h0 = rng.normal(size=(1, 4, 4))
    H = network_from_state(config, state).forward(X, h0).hidden()
    h1 = torch_cell(config, state)(
        as_tensor(X[:, 0], torch.float64), as_tensor(h0[0], torch.float64)
    )
    assert_close(H[:, 0], h1.detach().numpy(), "H_1", axes=("batch", "unit"))


def test_candidate_bias_b_hn_sits_inside_the_reset_product_as_in_torch() -> None:
    # The same number in bias_ih's n block and in bias_hh's n block means different things in
    # PyTorch's GRU (r multiplies only the latter); d2l's single-bias GRU would confuse them.
    config = gru_config(num_layers=1)
    rng = np.random.default_rng(3)
    state = random_state(config, rng)
    X = rng.normal(size=(2, 4, 3))
    moved = {name: value.copy() for name, value in state.items()}
    moved["rnn.bias_ih_l0"][8:] += moved["rnn.bias_hh_l0"][8:]
    moved["rnn.bias_hh_l0"][8:] = 0.0
    for candidate in (state, moved):
        ours = network_from_state(config, candidate).forward(X).O
        theirs = torch_network(config, candidate)(as_tensor(X, torch.float64))
        assert_close(ours, theirs.detach().numpy(), "logits O", axes=("batch", "step", "output"))
    assert not np.allclose(
        network_from_state(config, state).forward(X).O,
        network_from_state(config, moved).forward(X).O,
    )
    params = weights.from_pytorch(config, state)
    assert_close(params["layer0.b_hn"], state["rnn.bias_hh_l0"][8:], "b_hn")
