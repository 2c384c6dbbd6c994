"""A control given to the worker that trains the session is obeyed at the session's next
update, without waiting for the worker's periodic look at the store; a pause that comes while a
long update is in flight makes the update give way, and the session is as if it never began."""

import time

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.training import ACK_SECONDS
from app.settings import Settings
from tests.waiting import wait_until
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for


def test_pause_resume_and_stop_are_obeyed_at_the_next_update_of_this_workers_session(
    tmp_path,
) -> None:
    # the periodic look would come only after an hour: only the nudge can make these answers
    settings = Settings(data_dir=tmp_path, control_poll_seconds=3600.0)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 100_000}
        ).json()["id"]
        paused = client.post(f"/api/v1/training/{session}/pause").json()
        assert paused["status"] == "paused"
        assert client.post(f"/api/v1/training/{session}/resume").json()["status"] == "running"
        assert client.post(f"/api/v1/training/{session}/stop").json()["status"] == "stopped"


LONG = 50_000  # timesteps: one update of this LSTM takes seconds, longer than a click waits
LONG_MODEL = {"input_size": 1, "hidden_size": 4, "output_size": 1, "cell": "lstm"}
LONG_MODEL["output_mode"] = "last"


def long_body() -> dict:
    wave = np.sin(np.linspace(0.0, 60.0, LONG))
    inputs = [[[float(x)] for x in wave], [[float(-x)] for x in wave]]
    data = {"inputs": inputs, "targets": [[0.5], [-0.5]]}
    return {"data": data, "steps": 2, "batch_size": 2, "report_every": 2, "seed": 3}


def long_run(client: TestClient, body: dict, pause_mid_update: bool) -> tuple[bytes, list]:
    model_id = client.post("/api/v1/models", json={"config": LONG_MODEL}).json()["id"]
    session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()["id"]
    url = f"/api/v1/training/{session}"
    if pause_mid_update:
        wait_until(lambda: client.get(url).json()["status"] == "running", 60, "never ran")
        time.sleep(0.5)  # inside the first update, which lasts seconds
        paused = client.post(f"{url}/pause").json()
        # the answer waits ACK_SECONDS at most: only an update giving way can be paused by then
        assert paused["status"] == "paused" and paused["step"] == 0, paused
        assert client.post(f"{url}/resume").json()["status"] == "running"
    wait_for(client, session, ("finished",), timeout=300)
    weights = client.get(f"/api/v1/models/{model_id}/weights").content
    history = client.get(f"{url}/history").json()["records"]
    return weights, [{k: v for k, v in r.items() if k != "elapsed"} for r in history]


def test_a_pause_mid_update_of_a_long_update_acts_at_once_and_the_run_is_unchanged(
    tmp_path,
) -> None:
    assert ACK_SECONDS < 5
    body = long_body()
    bounds = {"max_steps": LONG, "max_elements": 4 * LONG * 16}
    with TestClient(create_app(Settings(data_dir=tmp_path / "straight", **bounds))) as client:
        expected = long_run(client, body, pause_mid_update=False)
    with TestClient(create_app(Settings(data_dir=tmp_path / "paused", **bounds))) as client:
        assert long_run(client, body, pause_mid_update=True) == expected
