"""The settings' limits are the only bounds: raised by the environment, they let through what the
defaults refuse, down to the tasks and the training sessions."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.waiting import wait_until

ADDITION = {"input_size": 2, "hidden_size": 16, "output_size": 1, "nonlinearity": "sigmoid"}
ADDITION_MODEL = {**ADDITION, "head": "sigmoid", "loss": "mse"}


def _client(tmp_path, monkeypatch: pytest.MonkeyPatch, max_batch: str | None) -> TestClient:
    if max_batch is not None:
        monkeypatch.setenv("RNN_EXPLORER_MAX_BATCH", max_batch)
    return TestClient(create_app(Settings(data_dir=tmp_path / "data")))


def test_a_raised_max_batch_lets_a_sample_and_a_session_use_batch_2000(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(tmp_path, monkeypatch, "2048") as client:
        sample = client.get("/api/v1/tasks/binary_addition/sample?seed=3&batch_size=2000")
        assert sample.status_code == 200, sample.text
        assert len(sample.json()["inputs"]) == 2000
        model = client.post("/api/v1/models", json={"config": ADDITION_MODEL}).json()["id"]
        body = {"task": "binary_addition", "batch_size": 2000, "steps": 3, "report_every": 1}
        started = client.post(f"/api/v1/models/{model}/train", json=body)
        assert started.status_code == 202, started.text
        session = started.json()["id"]

        def finished() -> dict | None:
            info = client.get(f"/api/v1/training/{session}").json()
            return info if info["status"] in ("finished", "early_stopped", "failed") else None

        info = wait_until(finished, 60, "the session never finished")
        assert info["status"] in ("finished", "early_stopped"), info
        assert info["training"]["batch_size"] == 2000 and info["step"] >= 1


def test_the_default_max_batch_refuses_batch_2000_naming_the_setting(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RNN_EXPLORER_MAX_BATCH", raising=False)
    with _client(tmp_path, monkeypatch, None) as client:
        sample = client.get("/api/v1/tasks/binary_addition/sample?batch_size=2000")
        assert sample.status_code == 422
        assert sample.json()["limit"] == {"setting": "max_batch", "value": 1024}
        model = client.post("/api/v1/models", json={"config": ADDITION_MODEL}).json()["id"]
        body = {"task": "binary_addition", "batch_size": 2000, "steps": 3}
        refused = client.post(f"/api/v1/models/{model}/train", json=body)
        assert refused.status_code == 422
        assert refused.json()["limit"] == {"setting": "max_batch", "value": 1024}
