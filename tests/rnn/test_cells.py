"""The three cells, each through the network, step by step against PyTorch: the vanilla RNN with
every nonlinearity, the LSTM's gates (i, f, g, o) and cell state, the GRU's gates (r, z, n) with
b_hn inside r ⊙ (H W_hn + b_hn)."""

import numpy as np
import pytest
import torch

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.network import Network

from .torch_reference import (
    CELL_VARIANTS,
    TORCH_NN_NONLINEARITIES,
    as_tensor,
    assert_close,
    check_trace_against_torch,
    network_from_state,
    random_state,
    torch_cell,
    torch_network,
    unroll,
)

NONLINEARITIES = ["tanh", "sigmoid", "relu", "identity"]
# The cells torch.nn's RNNCell, LSTMCell and GRUCell implement.
TORCH_CELL_VARIANTS = [
    (cell, nonlinearity)
    for cell, nonlinearity in CELL_VARIANTS
    if cell != "rnn" or nonlinearity in TORCH_NN_NONLINEARITIES
]
STEP_AXES = ("batch", "step", "unit")


def variant_id(variant: tuple[str, str]) -> str:
    return "-".join(variant)


def cell_config(cell: str, nonlinearity: str = "tanh", **overrides: object) -> ModelConfig:
    options: dict = {"input_size": 3, "hidden_size": 4, "output_size": 2, "num_layers": 2}
    options.update(overrides)
    return ModelConfig(cell=cell, nonlinearity=nonlinearity, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
@pytest.mark.parametrize("mode", ["sequence", "last"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("given_state", [True, False])
def test_every_step_of_the_trace_matches_torch(
    variant: tuple[str, str], mode: str, layers: int, given_state: bool
) -> None:
    config = cell_config(*variant, num_layers=layers, output_mode=mode)
    check_trace_against_torch(config, seed=layers, B=3, T=9, given_state=given_state)


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
@pytest.mark.parametrize("truncate", [1, 2, 3, 5])
def test_truncated_trace_matches_torch_detaching_the_state_every_k_steps(
    variant: tuple[str, str], truncate: int
) -> None:
    # The LSTM detaches both H and C.
    check_trace_against_torch(cell_config(*variant), seed=truncate, B=2, T=11, truncate=truncate)


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
def test_trace_of_200_steps_matches_torch(variant: tuple[str, str]) -> None:
    # Scaled-down weights (ρ(W_hh) ≈ 0.3) keep 200 steps well-conditioned; see test_network.
    config = cell_config(*variant, num_layers=1, hidden_size=6)
    check_trace_against_torch(config, seed=200, B=2, T=200, scale=0.5)


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
def test_trace_of_a_larger_batch_without_initial_state_matches_torch(
    variant: tuple[str, str],
) -> None:
    check_trace_against_torch(cell_config(*variant), seed=4, B=5, T=6, given_state=False)


@pytest.mark.parametrize("variant", TORCH_CELL_VARIANTS, ids=variant_id)
def test_one_step_sequence_equals_one_torch_cell_step(variant: tuple[str, str]) -> None:
    config = cell_config(*variant, num_layers=1)
    rng = np.random.default_rng(1)
    state = random_state(config, rng)
    X = rng.normal(size=(4, 1, 3))
    h0, c0 = rng.normal(size=(1, 4, 4)), rng.normal(size=(1, 4, 4))
    h0_t, c0_t = as_tensor(h0[0], torch.float64), as_tensor(c0[0], torch.float64)
    x_t = as_tensor(X[:, 0], torch.float64)
    cell = torch_cell(config, state)
    if config.cell == "lstm":
        trace = network_from_state(config, state).forward(X, h0, c0)
        h1, c1 = cell(x_t, (h0_t, c0_t))
        assert_close(trace.gates()["C"][:, 0], c1.detach().numpy(), "C_1", axes=("batch", "unit"))
    else:
        trace = network_from_state(config, state).forward(X, h0)
        h1 = cell(x_t, h0_t)
    assert_close(trace.hidden()[:, 0], h1.detach().numpy(), "H_1", axes=("batch", "unit"))


def torch_gates(cell: str, A_parts: list[np.ndarray]) -> dict[str, np.ndarray]:
    """PyTorch's gates from the unrolled pre-activations: LSTM [A_i|A_f|A_g|A_o] (B, T, 4H);
    GRU [A_r|A_z] (B, T, 2H) and A_n (B, T, H)."""
    sigmoid, tanh = torch.sigmoid, torch.tanh
    if cell == "lstm":
        A_i, A_f, A_g, A_o = (torch.tensor(a) for a in np.split(A_parts[0], 4, axis=-1))
        gates = {"i": sigmoid(A_i), "f": sigmoid(A_f), "g": tanh(A_g), "o": sigmoid(A_o)}
    else:
        A_r, A_z = (torch.tensor(a) for a in np.split(A_parts[0], 2, axis=-1))
        gates = {"r": sigmoid(A_r), "z": sigmoid(A_z), "n": tanh(torch.tensor(A_parts[1]))}
    return {name: value.numpy() for name, value in gates.items()}


@pytest.mark.parametrize(("cell", "names"), [("lstm", "ifgo"), ("gru", "rzn")])
def test_gates_are_torchs_in_torchs_order(cell: str, names: str) -> None:
    # Each gate is compared with PyTorch's from its own column block: gates in another order
    # (the i, f, o, g of other tutorials) would still run, and fail here.
    config = cell_config(cell, num_layers=1)
    rng = np.random.default_rng(0)
    state = random_state(config, rng)
    X = rng.normal(size=(2, 5, 3))
    trace = network_from_state(config, state).forward(X)
    ref = unroll(config, state, X)
    parts = len(ref.A[0][0])
    A_parts = [np.stack([p[k].detach().numpy() for p in ref.A[0]], axis=1) for k in range(parts)]
    expected = torch_gates(cell, A_parts)
    gates = trace.gates()
    assert set(gates) == set(names) | ({"C"} if cell == "lstm" else set())
    for name, value in expected.items():
        assert_close(gates[name], value, f"gate {name}", axes=STEP_AXES)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_rnn_hidden_state_is_the_equation_written_out(nonlinearity: str) -> None:
    config = cell_config("rnn", nonlinearity, num_layers=1)
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
        net.forward(X).hidden(), np.stack(expected, axis=1), "H_t", tol=1e-12, axes=STEP_AXES
    )


def test_relu_gradient_at_exactly_zero_is_zero_as_in_torch() -> None:
    config = cell_config("rnn", "relu", num_layers=1)
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


def test_gru_candidate_bias_b_hn_sits_inside_the_reset_product_as_in_torch() -> None:
    # The same number in bias_ih's n block and in bias_hh's n block means different things in
    # PyTorch's GRU (r multiplies only the latter); d2l's single-bias GRU would confuse them.
    config = cell_config("gru", num_layers=1)
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
