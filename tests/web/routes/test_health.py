import os

from fastapi.testclient import TestClient

from app import __version__
from app.main import create_app
from app.settings import Settings


def test_health_reports_ok_version_and_the_answering_worker(tmp_path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "worker": os.getpid(),
        "storage": {"mode": "read-write", "writable": True, "fault": None, "detail": None},
    }
    assert (tmp_path / "data").is_dir()
