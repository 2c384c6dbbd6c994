"""What a lesson's step does on the page, done over the real API: build the step's model from
its preset (and the link's changes), run its sample forward and backward, read its weights (in
our names or PyTorch's), train it as the page's Train button does."""

import time
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import load

from app.rnn import weights as weights_io
from app.rnn.arrays import Array


def lesson_step(client: TestClient, lesson: str, title: str) -> dict[str, Any]:
    """The step of that title, as GET /api/v1/lessons/{lesson} serves it."""
    reply = client.get(f"/api/v1/lessons/{lesson}")
    assert reply.status_code == 200, reply.text
    steps = {step["title"]: step for step in reply.json()["steps"]}
    assert title in steps, f"lesson {lesson!r} has no step {title!r}: {sorted(steps)}"
    return steps[title]


def step_link(client: TestClient, lesson: str, title: str) -> dict[str, Any]:
    """The link of the lesson's step of that title."""
    return dict(lesson_step(client, lesson, title)["setup"]["link"])


def preset(client: TestClient, name: str) -> dict[str, Any]:
    reply = client.get(f"/api/v1/presets/{name}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def make_model(client: TestClient, preset_name: str, **changes: Any) -> str:
    """A model of the preset's config with the link's `changes` (cell, forget_bias, …)."""
    return create_model(client, {**preset(client, preset_name)["model"], **changes})


def create_model(client: TestClient, config: dict[str, Any]) -> str:
    reply = client.post("/api/v1/models", json={"config": config})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def sample(client: TestClient, task: str, seed: int = 0, **params: Any) -> dict[str, Any]:
    reply = client.get(f"/api/v1/tasks/{task}/sample", params={"seed": seed, **params})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def preset_sample(
    client: TestClient, preset_body: dict[str, Any], seed: int = 0, batch: int = 1
) -> dict[str, Any]:
    """The page's sample of a preset's task: its task params, the link's sample seed."""
    query = {**preset_body["task_params"], **({"batch_size": batch} if batch > 1 else {})}
    return sample(client, preset_body["task"], seed, **query)


def forward(client: TestClient, model_id: str, **body: Any) -> dict[str, Any]:
    reply = client.post(f"/api/v1/models/{model_id}/forward", json=body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def backward(client: TestClient, model_id: str, **body: Any) -> dict[str, Any]:
    reply = client.post(f"/api/v1/models/{model_id}/backward", json=body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def params(client: TestClient, model_id: str) -> dict[str, Array]:
    """The model's weights in our names (layer0.W_xh, …), from GET …/weights."""
    _, values = weights_io.load(client.get(f"/api/v1/models/{model_id}/weights").content)
    return values


def torch_weights(client: TestClient, model_id: str) -> dict[str, Array]:
    """The model's weights in PyTorch's names and layouts ((out, in), as the course's)."""
    reply = client.get(f"/api/v1/models/{model_id}/weights")
    assert reply.status_code == 200
    return dict(load(reply.content))


def training_of(client: TestClient, preset_name: str, **changes: Any) -> dict[str, Any]:
    """The preset's training request, with the link's `changes` (steps, …)."""
    training = preset(client, preset_name)["training"]
    assert training is not None, f"preset {preset_name!r} does not train"
    return {**training, **changes}


def wait(
    client: TestClient, session: str, statuses: tuple[str, ...], timeout: float = 50.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = client.get(f"/api/v1/training/{session}").json()
        if info["status"] in statuses:
            return dict(info)
        assert info["status"] not in ("failed", "stopped"), info
        assert time.monotonic() < deadline, f"session still {info['status']} at step {info['step']}"
        time.sleep(0.05)


def train(
    client: TestClient, model_id: str, training: dict[str, Any], timeout: float = 50.0
) -> dict[str, Any]:
    """Start a session (as the Train button does) and wait for its end → its SessionInfo."""
    reply = client.post(f"/api/v1/models/{model_id}/train", json=training)
    assert reply.status_code == 202, reply.text
    return wait(client, reply.json()["id"], ("finished", "early_stopped"), timeout)


def history(client: TestClient, session: str) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/training/{session}/history").json()["records"])


def as_array(value: Any) -> Array:
    return np.asarray(value, dtype=np.float64)


def train_preset(
    client: TestClient, model_id: str, preset_body: dict[str, Any], **changes: Any
) -> list[dict[str, Any]]:
    """Trains as the page's Train button does for the preset (its training settings, the task
    params that differ from the task's defaults, seed = the sample seed 0) with the link's
    `changes`; returns the session's records."""
    task = client.get(f"/api/v1/tasks/{preset_body['task']}").json()
    params = {
        name: value
        for name, value in preset_body["task_params"].items()
        if value != task["params"][name]["default"]
    }
    training = {k: v for k, v in preset_body["training"].items() if k != "task_params"}
    info = train(client, model_id, {**training, "task_params": params, "seed": 0, **changes})
    return history(client, info["id"])
