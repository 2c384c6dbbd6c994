from fastapi.testclient import TestClient

from app import __version__
from app.config import Settings
from app.main import create_app


def test_health_reports_ok_and_version(tmp_path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert (tmp_path / "data").is_dir()
