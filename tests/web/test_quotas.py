"""Quotas and rate limits per owner: one visitor cannot fill the store, take every trainer or
flood the API; each refusal is a 429 with Retry-After that says what and which setting, and the
other owners (and the instructor) go on as before."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

INSTRUCTOR = "instructor-secret-0123456789"
CONFIG = {"input_size": 1, "hidden_size": 4, "output_size": 1, "output_mode": "last"}
TRAIN = {"task": "sine", "task_params": {"length": 8}, "batch_size": 4, "steps": 100_000}


def browsers(
    tmp_path: Path, **settings: Any
) -> Iterator[tuple[TestClient, TestClient, TestClient]]:
    """Two visitors (their own cookie jars) and the instructor, on one app."""
    app = create_app(Settings(data_dir=tmp_path / "data", instructor_token=INSTRUCTOR, **settings))
    with TestClient(app) as a:
        instructor = TestClient(app, headers={"Authorization": f"Bearer {INSTRUCTOR}"})
        yield a, TestClient(app), instructor


def refused(response: Any, setting: str) -> None:
    assert response.status_code == 429, response.text
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert f"RNN_EXPLORER_{setting.upper()}" in response.json()["detail"]


def make(client: TestClient, hidden: int = 4) -> Any:
    return client.post("/api/v1/models", json={"config": {**CONFIG, "hidden_size": hidden}})


def test_an_owner_past_its_rate_gets_429_and_others_do_not(tmp_path: Path) -> None:
    for a, b, instructor in browsers(tmp_path, rate_limit="5/minute"):
        for _ in range(5):
            assert a.get("/api/v1/models").status_code == 200
        refused(a.get("/api/v1/models"), "rate_limit")
        refused(a.post("/api/v1/models", json={"config": CONFIG}), "rate_limit")
        assert a.get("/api/v1/health").status_code == 200  # the health check is never limited
        assert b.get("/api/v1/models").status_code == 200
        for _ in range(10):
            assert instructor.get("/api/v1/models").status_code == 200


def test_one_address_is_limited_over_all_the_owners_it_makes(tmp_path: Path) -> None:
    for a, b, _ in browsers(tmp_path, rate_limit_per_address="8/minute"):
        for _ in range(5):
            assert a.get("/api/v1/tasks").status_code == 200
        for _ in range(3):
            assert b.get("/api/v1/tasks").status_code == 200
        refused(b.get("/api/v1/tasks"), "rate_limit_per_address")
        # a fresh cookie does not help: the address is the same
        refused(TestClient(a.app).get("/api/v1/tasks"), "rate_limit_per_address")


def test_an_owner_keeps_at_most_its_quota_of_models_until_it_deletes_one(tmp_path: Path) -> None:
    for a, b, instructor in browsers(tmp_path, quota_models=2):
        first = make(a).json()["id"]
        assert make(a).status_code == 201
        full = make(a)
        refused(full, "quota_models")
        assert "delete one of your models" in full.json()["detail"]
        assert make(b).status_code == 201 and make(instructor).status_code == 201
        assert make(instructor).status_code == 201  # the instructor has no quota
        assert a.delete(f"/api/v1/models/{first}").status_code == 204
        assert make(a).status_code == 201


def test_an_owner_stores_at_most_its_quota_of_bytes(tmp_path: Path) -> None:
    for a, b, _ in browsers(tmp_path, quota_bytes=20_000):
        assert make(a, hidden=4).status_code == 201  # a few hundred bytes
        # H = 64: 64·(1 + 64 + 2) + 65 float64 parameters, 35 kB of weights
        refused(make(a, hidden=64), "quota_bytes")
        assert make(b, hidden=4).status_code == 201


def test_an_owner_runs_at_most_its_quota_of_sessions(tmp_path: Path) -> None:
    for a, b, _ in browsers(tmp_path, quota_sessions=1):
        model_a = make(a).json()["id"]
        paused = {**TRAIN, "start_paused": True}
        session = a.post(f"/api/v1/models/{model_a}/train", json=paused)
        assert session.status_code == 202, session.text
        refused(a.post(f"/api/v1/models/{model_a}/train", json=paused), "quota_sessions")
        model_b = make(b).json()["id"]
        other = b.post(f"/api/v1/models/{model_b}/train", json=paused)
        assert other.status_code == 202, other.text
        assert a.post(f"/api/v1/training/{session.json()['id']}/stop").status_code == 200
        again = a.post(f"/api/v1/models/{model_a}/train", json=paused)
        assert again.status_code == 202, again.text
        for client, started in ((a, again), (b, other)):
            client.post(f"/api/v1/training/{started.json()['id']}/stop")
