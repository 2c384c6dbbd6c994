"""Weight decay, AdamW and learning-rate schedules step for step against torch.optim (float64)."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from app.rnn.errors import ConfigError
from app.rnn.optim import OPTIMISERS, make_optimizer
from app.rnn.schedules import SCHEDULES, make_schedule

from .test_optim import gradient, network_arrays
from .torch_reference import assert_close

LR = 0.05
STEPS = 20
DECAY = 0.07

# torch.optim's twin of each of our names at PyTorch's defaults; the keywords are added.
TORCH_CLASSES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
}
TORCH_SCHEDULES: dict[str, Callable[..., Any]] = {
    "step": torch.optim.lr_scheduler.StepLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
}
SCHEDULE_OPTIONS = {
    "step": ({"step_size": 3, "gamma": 0.5}, {"step_size": 3, "gamma": 0.5}),
    # t_max shorter than the run: the rate reaches eta_min and climbs back, as PyTorch's does
    "cosine": ({"t_max": 7, "eta_min": 0.004}, {"T_max": 7, "eta_min": 0.004}),
}


def compare(name: str, weight_decay: float | None, schedule: str | None) -> list[float]:
    """STEPS updates of ours and torch.optim's on the same gradients; every parameter after
    every step agrees to 1e-12. Returns the rates our optimiser used."""
    params = network_arrays()
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    torch_class, keywords = TORCH_CLASSES[name]
    if weight_decay is not None:
        keywords = {**keywords, "weight_decay": weight_decay}
    reference = torch_class(list(tensors.values()), lr=LR, **keywords)
    ours_schedule, torch_scheduler = None, None
    if schedule is not None:
        options, torch_options = SCHEDULE_OPTIONS[schedule]
        ours_schedule = make_schedule(schedule, **options)
        torch_scheduler = TORCH_SCHEDULES[schedule](reference, **torch_options)
    optimiser = make_optimizer(name, LR, weight_decay, ours_schedule)
    rates = []
    for step in range(STEPS):
        rates.append(optimiser.lr)
        assert_close(optimiser.lr, reference.param_groups[0]["lr"], f"lr at {step}", tol=1e-15)
        optimiser.step(params, gradient(params, step))
        grads = gradient({k: t.detach().numpy() for k, t in tensors.items()}, step)
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[key])
        reference.step()
        if torch_scheduler is not None:
            torch_scheduler.step()
        for key, tensor in tensors.items():
            label = f"{name} decay={weight_decay} {schedule}: {key} after step {step + 1}"
            assert_close(params[key], tensor.detach().numpy(), label, tol=1e-12)
    return rates


@pytest.mark.parametrize("name", OPTIMISERS)
def test_weight_decay_of_every_optimiser_matches_torch(name: str) -> None:
    compare(name, DECAY, None)


def test_adamw_decouples_its_decay_from_adam_and_defaults_to_torchs() -> None:
    compare("adamw", None, None)  # PyTorch's default weight_decay 0.01
    compare("adamw", 0.3, None)
    # with the same λ, AdamW and Adam's L2 move the weights differently (decoupled vs coupled)
    coupled, decoupled = network_arrays(), network_arrays()
    adam, adamw = make_optimizer("adam", LR, 0.3), make_optimizer("adamw", LR, 0.3)
    for step in range(5):
        adam.step(coupled, gradient(coupled, step))
        adamw.step(decoupled, gradient(decoupled, step))
    assert max(np.abs(coupled[k] - decoupled[k]).max() for k in coupled) > 1e-3


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
def test_every_schedule_matches_torchs_lr_scheduler(name: str, schedule: str) -> None:
    rates = compare(name, DECAY if name != "sgd" else None, schedule)
    if schedule == "step":  # closed form: lr · γ^⌊t / step_size⌋
        assert rates == pytest.approx([LR * 0.5 ** (t // 3) for t in range(STEPS)], rel=1e-14)
    else:
        closed = [0.004 + (LR - 0.004) * (1 + math.cos(math.pi * t / 7)) / 2 for t in range(STEPS)]
        assert rates == pytest.approx(closed, rel=1e-12)
        assert min(rates) == pytest.approx(0.004) and rates[14] == pytest.approx(LR)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_scheduled_optimiser_resumes_from_its_state_dict_with_its_rate(schedule: str) -> None:
    options = SCHEDULE_OPTIONS[schedule][0]
    uninterrupted = network_arrays()
    whole = make_optimizer("adamw", LR, DECAY, make_schedule(schedule, **options))
    for step in range(10):
        whole.step(uninterrupted, gradient(uninterrupted, step))
    params = network_arrays()
    first = make_optimizer("adamw", LR, DECAY, make_schedule(schedule, **options))
    for step in range(5):
        first.step(params, gradient(params, step))
    resumed = make_optimizer("adamw", LR, DECAY, make_schedule(schedule, **options))
    resumed.load_state_dict(load_safetensors(save_safetensors(first.state_dict())))
    assert resumed.lr == first.lr != LR
    for step in range(5, 10):
        resumed.step(params, gradient(params, step))
    for key in params:
        np.testing.assert_array_equal(params[key], uninterrupted[key], err_msg=key)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: make_optimizer("sgd", LR, -0.1), "weight_decay"),
        (lambda: make_optimizer("sgd", LR, float("nan")), "weight_decay"),
        (lambda: make_schedule("step", step_size=3, gamma=0.0), "schedule.gamma"),
        (lambda: make_schedule("step", step_size=3, gamma=-1.0), "schedule.gamma"),
        (lambda: make_schedule("step", step_size=0), "schedule.step_size"),
        (lambda: make_schedule("step", gamma=0.5), "schedule.step_size is required"),
        (lambda: make_schedule("step", step_size=2.5), "schedule.step_size"),
        (lambda: make_schedule("cosine", t_max=0), "schedule.t_max"),
        (lambda: make_schedule("cosine", t_max=5, eta_min=-1.0), "schedule.eta_min"),
        (lambda: make_schedule("cosine", t_max=5, gamma=0.5), "unknown: gamma"),
        (lambda: make_schedule("exponential", gamma=0.5), "schedule.name must be one of"),
    ],
)
def test_bad_options_are_refused_naming_the_field(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()
