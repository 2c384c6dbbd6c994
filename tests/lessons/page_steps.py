"""The spiral and sine lessons' tests: a step's model built as the page builds it, its sample,
passes over the real API, the weights in PyTorch's layout, and training as the page's Train
starts it."""

import time
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import load

from app.rnn.arrays import Array


def preset(client: TestClient, name: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/presets/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def step_setup(client: TestClient, lesson: str, title: str) -> dict[str, Any]:
    """The link of the lesson's step of that title, as GET /api/v1/lessons/{name} serves it."""
    steps = client.get(f"/api/v1/lessons/{lesson}").json()["steps"]
    step = next(s for s in steps if s["title"] == title)
    return dict(step["setup"]["link"])


def sample(client: TestClient, preset_body: dict[str, Any], seed: int = 0, batch: int = 1) -> Any:
    """The page's sample of a preset's task: its task params, the link's sample seed."""
    params = {**preset_body["task_params"], "seed": seed}
    if batch > 1:
        params["batch_size"] = batch
    response = client.get(f"/api/v1/tasks/{preset_body['task']}/sample", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def model(client: TestClient, config: dict[str, Any]) -> str:
    response = client.post("/api/v1/models", json={"config": config})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def forward(client: TestClient, model_id: str, inputs: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    return dict(response.json())


def backward(client: TestClient, model_id: str, inputs: Any, targets: Any) -> dict[str, Any]:
    body = {"inputs": inputs, "targets": targets}
    response = client.post(f"/api/v1/models/{model_id}/backward", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def weights(client: TestClient, model_id: str) -> dict[str, Array]:
    """The model's weights in PyTorch's names and layouts ((out, in), as the course's)."""
    response = client.get(f"/api/v1/models/{model_id}/weights")
    assert response.status_code == 200
    return dict(load(response.content))


def train(
    client: TestClient, model_id: str, preset_body: dict[str, Any], **changes: Any
) -> list[dict[str, Any]]:
    """Trains as the page's Train button does for the preset (its training settings, the task
    params, seed = the sample seed 0) with the link's `changes`; returns the records."""
    training = {k: v for k, v in preset_body["training"].items() if k != "task_params"}
    params = {
        name: value
        for name, value in preset_body["task_params"].items()
        if value != _task_default(client, preset_body["task"], name)
    }
    body = {**training, "task_params": params, "seed": 0, **changes}
    response = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert response.status_code == 202, response.text
    session = response.json()["id"]
    deadline = time.monotonic() + 50
    while client.get(f"/api/v1/training/{session}").json()["status"] in ("running", "paused"):
        assert time.monotonic() < deadline, "training did not end in 50 s"
        time.sleep(0.05)
    records = client.get(f"/api/v1/training/{session}/history").json()["records"]
    return list(records)


def _task_default(client: TestClient, task: str, name: str) -> Any:
    return client.get(f"/api/v1/tasks/{task}").json()["params"][name]["default"]


def argmax_rows(outputs: Any) -> Array:
    return np.argmax(np.asarray(outputs), axis=-1)
