"""BPTT against central finite differences of the loss, with no PyTorch involved.

dL/dθ ≈ (L(θ + ε) − L(θ − ε)) / 2ε for every entry of every parameter, of h0, c0 and of the
inputs. The truncation error is O(ε²) and the rounding error O(1e-16 / ε), so with ε = 1e-6 the
two agree to about 1e-9; the tests allow 1e-7 relative to the gradient's scale.
"""

from collections.abc import Callable

import numpy as np
import pytest

from app.rnn.config import ModelConfig
from app.rnn.network import Network

from .torch_reference import CELL_VARIANTS, make_targets

LOSS_VARIANTS = [
    ("mse", "identity", False),
    ("mse", "softmax", False),
    ("cross_entropy", "softmax", True),
    ("cross_entropy", "softmax", False),
    ("bce", "sigmoid", False),
]
EPSILON = 1e-6
TOLERANCE = 1e-7


def numerical_gradient(loss_of: Callable[[], float], value: np.ndarray) -> np.ndarray:
    """Central differences of `loss_of()` with respect to every entry of `value` (in place)."""
    gradient = np.empty_like(value)
    flat, out = value.reshape(-1), gradient.reshape(-1)
    for k in range(flat.size):
        kept = flat[k]
        flat[k] = kept + EPSILON
        above = loss_of()
        flat[k] = kept - EPSILON
        below = loss_of()
        flat[k] = kept
        out[k] = (above - below) / (2 * EPSILON)
    return gradient


def assert_gradient(analytic: np.ndarray, numeric: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.abs(numeric).max()))
    error = np.abs(analytic - numeric)
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    assert error[worst] <= TOLERANCE * scale, (
        f"{what} at {tuple(int(i) for i in worst)}: BPTT {analytic[worst]!r}, finite "
        f"difference {numeric[worst]!r}"
    )


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
@pytest.mark.parametrize(("loss", "head", "indices"), LOSS_VARIANTS)
@pytest.mark.parametrize("mode", ["sequence", "last"])
def test_every_gradient_matches_central_finite_differences(
    cell: str, nonlinearity: str, loss: str, head: str, indices: bool, mode: str
) -> None:
    config = ModelConfig(
        input_size=2,
        hidden_size=3,
        output_size=3,
        cell=cell,  # type: ignore[arg-type]
        nonlinearity=nonlinearity,  # type: ignore[arg-type]
        num_layers=2,
        head=head,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        output_mode=mode,  # type: ignore[arg-type]
        init="normal",
        init_std=0.6,
        seed=CELL_VARIANTS.index((cell, nonlinearity)),
    )
    net = Network(config)
    rng = np.random.default_rng(7)
    for name in net.params:
        if ".b_" in name or name == "b_q":
            net.params[name][:] = rng.normal(0.0, 0.3, net.params[name].shape)
    X = rng.normal(size=(2, 5, 2))
    H0 = rng.normal(0.0, 0.5, (2, 2, 3))
    C0 = rng.normal(0.0, 0.5, (2, 2, 3)) if cell == "lstm" else None
    targets = make_targets(config, rng, 2, 5, class_indices=indices)

    def loss_of() -> float:
        return net.loss(net.forward(X, H0, C0), targets)

    result = net.backward(net.forward(X, H0, C0), targets, step_grads="none")
    for name, value in net.params.items():
        numeric = numerical_gradient(loss_of, value)
        assert_gradient(result.grads[name], numeric, f"gradient of {name}")
    assert_gradient(result.dH0, numerical_gradient(loss_of, H0), "dL/dh0")
    if C0 is not None:
        assert result.dC0 is not None
        assert_gradient(result.dC0, numerical_gradient(loss_of, C0), "dL/dc0")
    dX = np.swapaxes(result.layers[0].dX, 0, 1)
    assert_gradient(dX, numerical_gradient(loss_of, X), "dL/dX")


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
def test_the_per_step_gradient_of_the_hidden_state_matches_finite_differences(
    cell: str, nonlinearity: str
) -> None:
    # dL/dH_t, the total from the output at t and from the future, is the derivative of the loss
    # with H_t as a free variable: the output at t recomputed from it and the steps after t rerun
    # from it (a network restarted with h0 = H_t; the LSTM's C_t held fixed).
    config = ModelConfig(
        input_size=2,
        hidden_size=3,
        output_size=2,
        cell=cell,  # type: ignore[arg-type]
        nonlinearity=nonlinearity,  # type: ignore[arg-type]
        init="normal",
        init_std=0.6,
    )
    net = Network(config)
    rng = np.random.default_rng(3)
    T, t = 6, 2
    X = rng.normal(size=(1, T, 2))
    targets = rng.normal(size=(1, T, 2))
    trace = net.forward(X)
    result = net.backward(trace, targets)
    H_t = trace.hidden()[:, t].copy()[None]  # (L=1, B=1, H)
    C_t = trace.gates()["C"][:, t].copy()[None] if cell == "lstm" else None
    outputs_before_t = trace.O[:, :t]

    def loss_of() -> float:
        rest = net.forward(X[:, t + 1 :], H_t, C_t)
        O_t = H_t[0] @ net.params["W_hq"] + net.params["b_q"]
        O = np.concatenate([outputs_before_t, O_t[:, None], rest.O], axis=1)
        return float(np.mean((O - targets) ** 2))

    numeric = numerical_gradient(loss_of, H_t)[0]
    assert_gradient(result.dH()[:, t], numeric, f"dL/dH_t at step {t}")
