"""‖∂Y_t/∂X_s‖_F against finite differences of Network.forward and against torch autograd."""

import numpy as np
import pytest
import torch

from app.rnn.config import ModelConfig
from app.rnn.connectivity import input_connectivity, output_steps, reach
from app.rnn.errors import ShapeError
from app.rnn.network import Network
from tests.differences import connectivity_by_differences

from .torch_reference import as_tensor, network_from_state, random_state, torch_head, torch_network

HEADS = [("mse", "identity"), ("bce", "sigmoid"), ("cross_entropy", "softmax")]


def config_of(cell: str, loss: str, head: str, mode: str = "sequence") -> ModelConfig:
    return ModelConfig(
        cell=cell,
        input_size=3,
        hidden_size=5,
        output_size=4,
        num_layers=2,
        loss=loss,
        head=head,
        output_mode=mode,
        dtype="float64",
    )


def finite_difference_norms(
    net: Network, X: np.ndarray, t: int, H0: np.ndarray | None, C0: np.ndarray | None
) -> np.ndarray:
    """(T,) ‖∂Y_t/∂X_s‖_F from central differences of forward's Y."""

    def output_at_t(inputs: np.ndarray) -> np.ndarray:
        Y = net.forward(inputs, H0, C0).Y[0]
        return Y[t] if net.config.output_mode == "sequence" else Y

    return connectivity_by_differences(output_at_t, X)


def assert_norms_close(ours: np.ndarray, ref: np.ndarray, what: str, tol: float) -> None:
    scale = max(float(np.max(np.abs(ref))), 1e-12)
    error = np.abs(ours - ref)
    worst = int(np.argmax(error))
    assert error[worst] <= tol * scale, (
        f"{what}: at input step s = {worst} ours {ours[worst]:.12g}, reference {ref[worst]:.12g}"
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("loss", "head"), HEADS)
@pytest.mark.parametrize("mode", ["sequence", "last"])
def test_connectivity_matches_finite_differences(
    cell: str, loss: str, head: str, mode: str
) -> None:
    rng = np.random.default_rng(7)
    config = config_of(cell, loss, head, mode)
    net = network_from_state(config, random_state(config, rng, scale=1.5))
    T = 6
    X = rng.normal(size=(T, 3))
    H0 = rng.normal(size=(2, 5)) * 0.5
    C0 = rng.normal(size=(2, 5)) * 0.5 if cell == "lstm" else None
    for t in output_steps(net, T)[-3:] if mode == "sequence" else [T - 1]:
        ours = input_connectivity(net, X, t, H0, C0)
        ref = finite_difference_norms(net, X, t, H0, C0)
        assert ours.shape == (T,)
        assert np.all(ours[t + 1 :] == 0.0), f"t = {t}: a later input moved the output"
        assert np.all(ours[: t + 1] > 0.0), f"t = {t}: an earlier input shows no influence"
        assert_norms_close(ours, ref, f"{cell} {head} {mode} t = {t}", 1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("loss", "head"), HEADS)
def test_connectivity_matches_torch_autograd_jacobian(cell: str, loss: str, head: str) -> None:
    rng = np.random.default_rng(11)
    config = config_of(cell, loss, head)
    state = random_state(config, rng, scale=1.5)
    net = network_from_state(config, state)
    model = torch_network(config, state)
    T, t = 7, 4
    X = rng.normal(size=(T, 3))

    def output_at_t(inputs: torch.Tensor) -> torch.Tensor:
        return torch_head(head, model(inputs[None]))[0, t]

    J = torch.autograd.functional.jacobian(output_at_t, as_tensor(X, torch.float64))  # (Q, T, D)
    ref = torch.sqrt((J * J).sum(dim=(0, 2))).numpy()
    assert_norms_close(input_connectivity(net, X, t), ref, f"{cell} {head} vs torch", 1e-9)


def test_connectivity_rejects_a_step_without_an_output() -> None:
    rng = np.random.default_rng(0)
    sequence = network_from_state(
        config_of("rnn", "mse", "identity"), random_state(config_of("rnn", "mse", "identity"), rng)
    )
    last_config = config_of("gru", "mse", "identity", "last")
    last = network_from_state(last_config, random_state(last_config, rng))
    X = rng.normal(size=(5, 3))
    with pytest.raises(ShapeError, match="0 ≤ t ≤ 4"):
        input_connectivity(sequence, X, 5)
    with pytest.raises(ShapeError, match="outputs only at 4"):
        input_connectivity(last, X, 2)
    with pytest.raises(ShapeError, match=r"\(T, D\)"):
        input_connectivity(sequence, X[None], 1)


def test_reach_counts_the_last_steps_that_hold_the_share() -> None:
    norms = np.array([0.0, 1.0, 1.0, 3.0, 0.0])  # squared: 0, 1, 1, 9 up to t = 3
    assert reach(norms, 3, 0.9) == 2  # 9 + 1 = 10 ≥ 0.9 · 11
    assert reach(norms, 3, 0.8) == 1  # 9 ≥ 0.8 · 11
    assert reach(norms, 3, 1.0) == 3
    assert reach(np.zeros(4), 2) == 0
