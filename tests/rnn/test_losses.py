"""Heads and losses (mean-reduced, from the logits) against torch.nn.functional."""

import numpy as np
import pytest
import torch

from app.rnn.config import ModelConfig
from app.rnn.losses import head_forward, log_softmax, loss_and_grad, softmax

from .torch_reference import (
    LOSS_VARIANTS,
    as_tensor,
    assert_close,
    make_targets,
    network_from_state,
    random_state,
    torch_head,
    torch_loss,
    torch_network,
)


def loss_config(loss: str, head: str, mode: str = "sequence", Q: int = 4) -> ModelConfig:
    return ModelConfig(
        input_size=1, hidden_size=1, output_size=Q, loss=loss, head=head, output_mode=mode
    )


def check_loss(config: ModelConfig, O: np.ndarray, targets: np.ndarray, tol: float) -> None:
    """Our loss and dL/dO against torch autograd on the same logits."""
    value, dO = loss_and_grad(O, head_forward(O, config.head), targets, config.loss, config.head)
    logits = as_tensor(O, torch.float64, requires_grad=True)
    expected = torch_loss(config, logits, targets)
    expected.backward()
    assert np.isfinite(value) and np.isfinite(dO).all()
    assert_close(value, expected.item(), f"{config.loss} loss", tol=tol)
    assert_close(dO, logits.grad.numpy(), f"dL/dO of {config.loss}", tol=tol)


@pytest.mark.parametrize(("loss", "head", "indices"), LOSS_VARIANTS)
@pytest.mark.parametrize("mode", ["sequence", "last"])
def test_loss_and_its_logit_gradient_match_torch(
    loss: str, head: str, indices: bool, mode: str
) -> None:
    config = loss_config(loss, head, mode)
    rng = np.random.default_rng(0)
    for B, T in ((1, 1), (3, 5), (8, 2)):
        targets = make_targets(config, rng, B, T, class_indices=indices)
        shape = (B, T, 4) if mode == "sequence" else (B, 4)
        check_loss(config, rng.normal(0.0, 3.0, shape), targets, tol=1e-12)


def test_cross_entropy_with_logits_of_1e4_stays_finite_and_matches_torch() -> None:
    config = loss_config("cross_entropy", "softmax")
    O = np.array([[[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, 1e4, 1e4]]])
    check_loss(config, O, np.array([[1, 0]]), tol=1e-12)
    check_loss(config, O, np.array([[[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.25, 0.25]]]), tol=1e-12)


def test_bce_with_logits_of_1e3_stays_finite_and_matches_torch() -> None:
    config = loss_config("bce", "sigmoid")
    O = np.array([[[1e3, -1e3, 0.0, 1e3], [-1e3, 1e3, -7.0, 40.0]]])
    targets = np.array([[[0.0, 1.0, 0.5, 1.0], [1.0, 0.0, 0.2, 0.9]]])
    check_loss(config, O, targets, tol=1e-12)


def test_cross_entropy_with_unnormalised_probability_targets_matches_torch() -> None:
    config = loss_config("cross_entropy", "softmax")
    rng = np.random.default_rng(1)
    check_loss(config, rng.normal(size=(2, 3, 4)), rng.uniform(0, 2, (2, 3, 4)), tol=1e-12)


def test_softmax_rows_sum_to_one_even_for_huge_logits() -> None:
    O = np.array([[1e4, -1e4, 3.0], [700.0, 710.0, -5.0], [0.0, 0.0, 0.0]])
    Y = softmax(O)
    assert np.isfinite(Y).all()
    assert_close(Y.sum(axis=-1), np.ones(3), "Σ softmax", tol=1e-15)
    assert_close(Y, torch.softmax(torch.tensor(O), -1).numpy(), "softmax", tol=1e-15)
    assert_close(log_softmax(O), torch.log_softmax(torch.tensor(O), -1).numpy(), "log_softmax")


def test_sigmoid_head_never_overflows() -> None:
    O = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    assert_close(head_forward(O, "sigmoid"), torch.sigmoid(torch.tensor(O)).numpy(), "σ(O)")


@pytest.mark.parametrize(("loss", "head", "indices"), LOSS_VARIANTS)
def test_a_network_with_huge_logits_stays_finite_and_matches_torch(
    loss: str, head: str, indices: bool
) -> None:
    # b_q = ±1e4 (±1e3 for BCE) pushes the logits to the far tails of softmax and sigmoid.
    config = ModelConfig(
        input_size=2, hidden_size=3, output_size=3, cell="gru", head=head, loss=loss
    )
    rng = np.random.default_rng(2)
    state = random_state(config, rng)
    big = 1e3 if loss == "bce" else 1e4
    state["head.bias"][:] = [big, -big, 0.0]
    net = network_from_state(config, state)
    X = rng.normal(size=(2, 4, 2))
    targets = make_targets(config, rng, 2, 4, class_indices=indices)
    result = net.backward(net.forward(X), targets)
    model = torch_network(config, state)
    expected = torch_loss(config, model(as_tensor(X, torch.float64)), targets)
    expected.backward()
    assert np.isfinite(result.loss)
    assert_close(result.loss, expected.item(), "loss")
    assert_close(result.grads["b_q"], model.head.bias.grad.numpy(), "gradient of b_q")
    assert_close(result.grads["W_hq"].T, model.head.weight.grad.numpy(), "gradient of W_hq")
    Y = net.forward(X).Y
    assert_close(Y, torch_head(head, model(as_tensor(X, torch.float64))).detach().numpy(), "Y")


@pytest.mark.parametrize(("loss", "head", "indices"), LOSS_VARIANTS)
def test_loss_is_never_negative(loss: str, head: str, indices: bool) -> None:
    config = loss_config(loss, head)
    rng = np.random.default_rng(3)
    for _ in range(20):
        targets = make_targets(config, rng, 2, 3, class_indices=indices)
        O = rng.normal(0.0, 5.0, (2, 3, 4))
        value, _ = loss_and_grad(O, head_forward(O, head), targets, loss, head)
        assert value >= 0.0
