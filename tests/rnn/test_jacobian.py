"""‖∂H_T/∂H_t‖ and the spectral radius of W_hh against torch.autograd.functional.jacobian."""

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (the usual alias)

from app.rnn.config import ModelConfig
from app.rnn.errors import ShapeError
from app.rnn.jacobian import jacobian_norms, spectral_radius
from app.rnn.network import Network

from .torch_reference import (
    CELL_VARIANTS,
    as_tensor,
    assert_close,
    network_from_state,
    random_state,
    torch_cell,
)

Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def torch_step(config: ModelConfig, state: dict, layer: int) -> Step:
    """One step of layer `layer` in torch: (x (D,), h (H,), c (H,)) → (h, c)."""
    if config.cell == "rnn" and config.nonlinearity in ("sigmoid", "identity"):
        W_ih, W_hh, b_ih, b_hh = (
            as_tensor(state[f"rnn.{name}_l{layer}"], torch.float64)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        phi = torch.sigmoid if config.nonlinearity == "sigmoid" else (lambda a: a)
        return lambda x, h, c: (phi(F.linear(x, W_ih, b_ih) + F.linear(h, W_hh, b_hh)), c)
    cell = torch_cell(config, state, layer)
    if config.cell == "lstm":
        return lambda x, h, c: cell(x[None], (h[None], c[None]))  # type: ignore[return-value]
    return lambda x, h, c: (cell(x[None], h[None])[0], c)


def torch_jacobians(
    config: ModelConfig, state: dict, net: Network, X: np.ndarray, layer: int, sequence: int
) -> list[np.ndarray]:
    """∂H_T/∂H_t (H, H) for every t of one layer and sequence, C_t held fixed for the LSTM."""
    trace = net.forward(X)
    layer_trace = trace.layers[layer]
    inputs = torch.tensor(layer_trace.X[:, sequence])  # (T, D_layer)
    H = torch.tensor(layer_trace.H[:, sequence])
    C = torch.tensor(layer_trace.C[:, sequence]) if config.cell == "lstm" else torch.zeros_like(H)
    step = torch_step(config, state, layer)
    T = H.shape[0]
    jacobians = []
    for t in range(T):

        def run_from(h: torch.Tensor, t: int = t) -> torch.Tensor:
            c = C[t]
            for s in range(t + 1, T):
                h, c = step(inputs[s], h, c)
                h, c = h.reshape(-1), c.reshape(-1)
            return h

        jacobians.append(torch.autograd.functional.jacobian(run_from, H[t]).numpy())
    return jacobians


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
@pytest.mark.parametrize("norm", ["spectral", "fro"])
def test_jacobian_norms_match_torch_autograd_jacobians(
    cell: str, nonlinearity: str, norm: str
) -> None:
    config = ModelConfig(
        input_size=3,
        hidden_size=5,
        output_size=2,
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=2,
    )
    rng = np.random.default_rng(4)
    state = random_state(config, rng, scale=2.0)
    net = network_from_state(config, state)
    X = rng.normal(size=(3, 9, 3))
    for layer, sequence in ((0, 2), (1, 0)):
        jacobians = torch_jacobians(config, state, net, X, layer, sequence)
        order = 2 if norm == "spectral" else "fro"
        expected = [np.linalg.norm(J, ord=order) for J in jacobians]
        ours = jacobian_norms(net, net.forward(X), layer=layer, sequence=sequence, norm=norm)
        assert_close(ours, expected, f"{norm} ‖∂H_T/∂H_t‖ of layer {layer}", axes=["step"])


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
def test_jacobian_norm_of_the_last_step_is_the_norm_of_the_identity(
    cell: str, nonlinearity: str
) -> None:
    config = ModelConfig(
        input_size=2, hidden_size=4, output_size=1, cell=cell, nonlinearity=nonlinearity
    )
    net = Network(config)
    trace = net.forward(np.ones((1, 5, 2)))
    assert jacobian_norms(net, trace, norm="spectral")[-1] == pytest.approx(1.0, abs=1e-12)
    assert jacobian_norms(net, trace, norm="fro")[-1] == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize(
    ("cell", "names"), [("rnn", ["W_hh"]), ("lstm", ["i", "f", "g", "o"]), ("gru", ["r", "z", "n"])]
)
def test_spectral_radius_is_the_largest_eigenvalue_of_each_gate_block(
    cell: str, names: list[str]
) -> None:
    config = ModelConfig(input_size=2, hidden_size=6, output_size=1, cell=cell, num_layers=2)
    rng = np.random.default_rng(8)
    state = random_state(config, rng, scale=3.0)
    radii = spectral_radius(network_from_state(config, state))
    H = config.hidden_size
    assert len(radii) == 2
    for layer in range(2):
        W = state[f"rnn.weight_hh_l{layer}"]
        assert list(radii[layer]) == names
        for k, name in enumerate(names):
            block = W[k * H : (k + 1) * H]
            expected = np.max(np.abs(np.linalg.eigvals(block)))
            assert radii[layer][name] == pytest.approx(expected, rel=1e-12), (layer, name)


def test_jacobian_norms_reject_an_unknown_norm_and_a_sequence_outside_the_batch() -> None:
    net = Network(ModelConfig(input_size=1, hidden_size=2, output_size=1))
    trace = net.forward(np.zeros((2, 3, 1)))
    with pytest.raises(ShapeError, match="norm"):
        jacobian_norms(net, trace, norm="nuclear")  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="outside the batch"):
        jacobian_norms(net, trace, sequence=2)
