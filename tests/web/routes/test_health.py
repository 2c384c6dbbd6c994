import os
import socket

from fastapi.testclient import TestClient

from app import __version__
from app.main import create_app
from app.settings import Settings


def test_health_reports_ok_version_and_the_answering_worker_to_the_instructor_only(
    tmp_path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", instructor_token="the-teacher-of-the-class")
    with TestClient(create_app(settings)) as client:
        visitor = client.get("/api/v1/health")
        teacher = client.get(
            "/api/v1/health", headers={"Authorization": "Bearer the-teacher-of-the-class"}
        )
    assert visitor.status_code == 200 and teacher.status_code == 200
    storage = {"mode": "read-write", "writable": True, "fault": None, "detail": None}
    assert visitor.json() == {
        "status": "ok",
        "version": __version__,
        "worker": None,
        "storage": storage,
    }
    assert teacher.json() == {**visitor.json(), "worker": os.getpid()}
    # neither the process id nor the host's name reaches a visitor
    assert str(os.getpid()) not in visitor.text and socket.gethostname() not in visitor.text
    assert (tmp_path / "data").is_dir()
