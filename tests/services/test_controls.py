"""A control given to the worker that trains the session is obeyed at the session's next
update, without waiting for the worker's periodic look at the store."""

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.web.routes.test_training import SINE, SINE_MODEL


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
