"""Optimisers and gradient clipping against torch.optim and torch.nn.utils.clip_grad_norm_."""

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from app.rnn.config import ModelConfig
from app.rnn.errors import ConfigError
from app.rnn.network import Network
from app.rnn.optim import OPTIMISERS, clip_grad_norm, global_norm, make_optimizer

from .torch_reference import assert_close

LR = 0.05
# PyTorch's default hyper-parameters for each, except SGD's momentum, which ours fixes at 0.9.
TORCH_OPTIMISERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=LR),
    "momentum": lambda params: torch.optim.SGD(params, lr=LR, momentum=0.9),
    "adagrad": lambda params: torch.optim.Adagrad(params, lr=LR),
    "rmsprop": lambda params: torch.optim.RMSprop(params, lr=LR),
    "adam": lambda params: torch.optim.Adam(params, lr=LR),
    "adamw": lambda params: torch.optim.AdamW(params, lr=LR),  # weight_decay 0.01 by default
}


def network_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    config = ModelConfig(input_size=3, hidden_size=4, output_size=2, cell="lstm", seed=seed)
    return Network(config).params


def gradient(params: dict[str, np.ndarray], step: int) -> dict[str, np.ndarray]:
    """A gradient that depends on the parameters (of ½‖W − 0.3‖² plus a per-step drift), so a
    wrong update changes every later step."""
    rng = np.random.default_rng(100 + step)
    return {name: (W - 0.3) + rng.normal(0.0, 0.5, W.shape) for name, W in sorted(params.items())}


def run_ours(name: str, params: dict[str, np.ndarray], steps: range) -> None:
    optimiser = make_optimizer(name, LR)
    for step in steps:
        optimiser.step(params, gradient(params, step))


@pytest.mark.parametrize("name", OPTIMISERS)
def test_every_step_of_the_optimiser_matches_torch_optim(name: str) -> None:
    params = network_arrays()
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    torch_optimiser = TORCH_OPTIMISERS[name](list(tensors.values()))
    optimiser = make_optimizer(name, LR)
    for step in range(12):
        grads = gradient(params, step)
        optimiser.step(params, grads)
        reference = gradient({k: t.detach().numpy() for k, t in tensors.items()}, step)
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(reference[key])
        torch_optimiser.step()
        for key, tensor in tensors.items():
            assert_close(
                params[key],
                tensor.detach().numpy(),
                f"{name}: {key} after step {step + 1}",
                tol=1e-13,
            )


@pytest.mark.parametrize("name", OPTIMISERS)
def test_state_dict_saved_as_safetensors_resumes_the_same_trajectory(name: str) -> None:
    uninterrupted = network_arrays()
    run_ours(name, uninterrupted, range(8))

    params = network_arrays()
    first = make_optimizer(name, LR)
    for step in range(4):
        first.step(params, gradient(params, step))
    saved = save_safetensors(first.state_dict())
    for step in range(4, 6):  # the first session carries on; the checkpoint must not change
        first.step({k: v.copy() for k, v in params.items()}, gradient(params, step))
    resumed = make_optimizer(name, LR)
    resumed.load_state_dict(load_safetensors(saved))
    assert resumed.steps == 4
    for step in range(4, 8):
        resumed.step(params, gradient(params, step))
    for key in params:
        np.testing.assert_array_equal(params[key], uninterrupted[key], err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", OPTIMISERS)
def test_loading_a_state_dict_copies_it(name: str) -> None:
    params = network_arrays()
    optimiser = make_optimizer(name, LR)
    optimiser.step(params, gradient(params, 0))
    state = {k: v.copy() for k, v in optimiser.state_dict().items()}
    resumed = make_optimizer(name, LR)
    resumed.load_state_dict(state)
    resumed.step(params, gradient(params, 1))
    for key, value in optimiser.state_dict().items():
        np.testing.assert_array_equal(state[key], value, err_msg=key)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_matches_torch(max_norm: float) -> None:
    rng = np.random.default_rng(1)
    grads = {name: rng.normal(size=W.shape) for name, W in network_arrays().items()}
    tensors = [
        torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()
    ]
    for tensor, g in zip(tensors, grads.values(), strict=True):
        tensor.grad = torch.tensor(g.copy())
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = clip_grad_norm(grads, max_norm)
    assert_close(norm, expected_norm.item(), "norm before clipping", tol=1e-14)
    for (name, g), tensor in zip(grads.items(), tensors, strict=True):
        assert_close(g, tensor.grad.numpy(), f"clipped gradient of {name}", tol=1e-14)
    if max_norm < norm:
        assert global_norm(grads) == pytest.approx(max_norm, rel=1e-5)


def test_global_norm_is_the_norm_of_all_gradients_as_one_vector() -> None:
    rng = np.random.default_rng(2)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    flat = np.concatenate([g.ravel() for g in grads.values()])
    assert global_norm(grads) == pytest.approx(np.linalg.norm(flat), rel=1e-14)


def test_optimiser_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        make_optimizer("lbfgs", 0.1)
    for lr in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="learning rate"):
            make_optimizer("sgd", lr)
    with pytest.raises(ConfigError, match="max_norm"):
        clip_grad_norm({"a": np.ones(2)}, 0.0)
