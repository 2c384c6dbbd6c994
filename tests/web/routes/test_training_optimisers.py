"""A session trained over the API with weight decay, AdamW or a learning-rate schedule ends with
the weights torch.optim (and torch.optim.lr_scheduler) reach on the same data in float64."""

from typing import Any

import numpy as np
import pytest
import torch

from app.rnn import weights as weights_io
from tests.web.routes.test_training import wait_for

MODEL = {
    "input_size": 2,
    "hidden_size": 3,
    "output_size": 1,
    "output_mode": "last",
    "nonlinearity": "tanh",
    "seed": 5,
}
STEPS = 20
LR = 0.03

# (the TrainRequest's options, torch's optimiser and keywords, torch's scheduler and keywords)
CASES: dict[str, tuple[dict[str, Any], Any, dict[str, Any], Any, dict[str, Any]]] = {
    "sgd_decay": ({"optimizer": "sgd", "weight_decay": 0.1}, torch.optim.SGD, {}, None, {}),
    "momentum_decay": (
        {"optimizer": "momentum", "weight_decay": 0.05},
        torch.optim.SGD,
        {"momentum": 0.9},
        None,
        {},
    ),
    "adam_decay": ({"optimizer": "adam", "weight_decay": 0.2}, torch.optim.Adam, {}, None, {}),
    "adamw_default": ({"optimizer": "adamw"}, torch.optim.AdamW, {}, None, {}),
    "rmsprop_step": (
        {"optimizer": "rmsprop", "schedule": {"name": "step", "step_size": 4, "gamma": 0.5}},
        torch.optim.RMSprop,
        {},
        torch.optim.lr_scheduler.StepLR,
        {"step_size": 4, "gamma": 0.5},
    ),
    "adamw_cosine": (
        {
            "optimizer": "adamw",
            "weight_decay": 0.1,
            "schedule": {"name": "cosine", "t_max": 8, "eta_min": 0.001},
        },
        torch.optim.AdamW,
        {},
        torch.optim.lr_scheduler.CosineAnnealingLR,
        {"T_max": 8, "eta_min": 0.001},
    ),
}


def torch_training(
    params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, case: tuple[Any, ...]
) -> dict[str, torch.Tensor]:
    """Full-batch training of h_t = tanh(x_t W_xh + h_{t−1} W_hh + b_h), ŷ = h_T W_hq + b_q
    under MSE, written here in torch."""
    options, optimiser_class, keywords, scheduler_class, schedule_keywords = case
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    if "weight_decay" in options:
        keywords = {**keywords, "weight_decay": options["weight_decay"]}
    optimiser = optimiser_class(list(tensors.values()), lr=LR, **keywords)
    scheduler = scheduler_class(optimiser, **schedule_keywords) if scheduler_class else None
    inputs, targets = torch.tensor(X), torch.tensor(y)
    W_xh, W_hh, b_h = (tensors[f"layer0.{n}"] for n in ("W_xh", "W_hh", "b_h"))
    for _ in range(STEPS):
        h = torch.zeros(X.shape[0], MODEL["hidden_size"], dtype=torch.float64)
        for t in range(X.shape[1]):
            h = torch.tanh(inputs[:, t] @ W_xh + h @ W_hh + b_h)
        loss = torch.mean((h @ tensors["W_hq"] + tensors["b_q"] - targets) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
    return tensors


@pytest.mark.parametrize("case", list(CASES))
def test_a_session_with_the_option_reaches_torchs_weights(client, case: str) -> None:
    model_id = client.post("/api/v1/models", json={"config": MODEL}).json()["id"]
    _, before = weights_io.load(client.get(f"/api/v1/models/{model_id}/weights").content)
    assert set(before) == {"layer0.W_xh", "layer0.W_hh", "layer0.b_h", "W_hq", "b_q"}
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(6, 5, 2)), rng.normal(size=(6, 1))
    body = {
        "data": {"inputs": X.tolist(), "targets": y.tolist()},
        "batch_size": 6,  # the whole data set, in any order: the mean loss is the same
        "steps": STEPS,
        "lr": LR,
        **CASES[case][0],
    }
    response = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert response.status_code == 202, response.text
    wait_for(client, response.json()["id"], ("finished",))
    _, after = weights_io.load(client.get(f"/api/v1/models/{model_id}/weights").content)
    expected = torch_training(before, X, y, CASES[case])
    for name, tensor in expected.items():
        np.testing.assert_allclose(after[name], tensor.detach().numpy(), rtol=0, atol=1e-12)
        assert not np.allclose(after[name], before[name])  # the session did train


def test_the_session_states_the_options_in_effect(client) -> None:
    model_id = client.post("/api/v1/models", json={"config": MODEL}).json()["id"]
    body = {
        "data": {"inputs": [[[0.0, 1.0]]], "targets": [[1.0]]},
        "optimizer": "sgd",
        "weight_decay": 0.5,
        "schedule": {"name": "step", "step_size": 3},
        "start_paused": True,
    }
    started = client.post(f"/api/v1/models/{model_id}/train", json=body).json()
    assert started["training"]["weight_decay"] == 0.5
    assert started["training"]["schedule"] == {"name": "step", "step_size": 3, "gamma": 0.1}
    client.post(f"/api/v1/training/{started['id']}/stop")
    choices = client.get("/api/v1/choices").json()["training"]
    assert choices["optimizer"][-1] == "adamw" and choices["schedule"] == ["step", "cosine"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"weight_decay": 2.0}, "weight_decay"),
        ({"schedule": {"name": "step", "step_size": 3, "gamma": 0}}, "schedule.step.gamma"),
        ({"schedule": {"name": "step", "step_size": 3, "gamma": -2}}, "schedule.step.gamma"),
        ({"schedule": {"name": "step", "step_size": 0}}, "schedule.step.step_size"),
        ({"schedule": {"name": "step"}}, "schedule.step.step_size"),
        ({"schedule": {"name": "cosine", "t_max": 0}}, "schedule.cosine.t_max"),
        ({"schedule": {"name": "cosine", "t_max": 3, "eta_min": -1}}, "schedule.cosine.eta_min"),
        ({"schedule": {"name": "exponential", "gamma": 0.5}}, "schedule"),
        ({"schedule": {"step_size": 3}}, "schedule"),
        ({"optimizer": "lbfgs"}, "optimizer"),
    ],
)
def test_bad_options_are_422_naming_the_field(client, options: dict, field: str) -> None:
    model_id = client.post("/api/v1/models", json={"config": MODEL}).json()["id"]
    body = {"data": {"inputs": [[[0.0, 1.0]]], "targets": [[1.0]]}, **options}
    response = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert ".".join(map(str, problem["loc"][1:])) == field, problem
