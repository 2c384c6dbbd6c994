from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_model(client: TestClient) -> Callable[..., str]:
    """Create a model over REST from config fields; returns its id."""

    def make(**config: Any) -> str:
        body = {"input_size": 2, "hidden_size": 4, "output_size": 3, **config}
        response = client.post("/api/v1/models", json={"config": body})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return make
