"""What a killed process leaves in the data directory is collected when the server starts again:
temp files of an unfinished write, weights files without a model, snapshots without a session;
what a live worker is writing now (a fresh file) and everything that has its row stay."""

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for


def aged(path: Path, data: bytes = b"left behind", seconds: float = 3600) -> Path:
    path.write_bytes(data)
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


def test_a_restart_removes_the_orphans_of_a_killed_process_and_keeps_the_rest(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 20}
        ).json()["id"]
        wait_for(client, session, ("finished",))
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        cookies = dict(client.cookies)  # the same browser comes back
    models, blobs = tmp_path / "models", tmp_path / "blobs"
    snapshot = blobs / f"session-{session}-snapshot.safetensors"
    assert snapshot.exists()
    # what kill -9 leaves: a half-written temp file, a weights file whose row never came, the
    # snapshot of a session whose row is gone; and what a live worker is writing right now
    orphans = [
        aged(models / f".{model_id}.safetensors.x1y2.tmp"),
        aged(models / "0123456789abcdef.safetensors"),
        aged(blobs / "session-fedcba9876543210-snapshot.safetensors"),
    ]
    fresh = [
        aged(models / ".feedfacefeedface.safetensors.z9.tmp", seconds=0),
        aged(models / "feedfacefeedface.safetensors", seconds=0),
    ]
    old = time.time() - 3600
    os.utime(models / f"{model_id}.safetensors", (old, old))  # old, but its row is there
    with TestClient(create_app(settings), cookies=cookies) as client:
        assert client.get(f"/api/v1/models/{model_id}/weights").content == weights
        assert client.get(f"/api/v1/training/{session}").json()["status"] == "finished"
    assert not any(path.exists() for path in orphans)
    assert all(path.exists() for path in fresh)
    assert snapshot.exists() and (models / f"{model_id}.safetensors").exists()
