"""Shared pytest set-up: an app on a fresh data directory, and the browser every browser test
drives."""

import os
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

if TYPE_CHECKING:
    from tests.postgres import Postgres

# TestClient's requests come to Host "testserver"; every test's settings (and every server a test
# starts) serve it besides the loopback names.
os.environ.setdefault("RNN_EXPLORER_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
# The suite is one client address making a great many requests: its servers get rates no test
# reaches; tests/web/test_quotas.py sets its own to check the limits.
os.environ.setdefault("RNN_EXPLORER_RATE_LIMIT", "1000000/minute")
os.environ.setdefault("RNN_EXPLORER_RATE_LIMIT_PER_ADDRESS", "1000000/minute")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    """$CHROMIUM_PATH, else the system's Chromium; None lets Playwright use its own build."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    extra = {"executable_path": path} if path else {}
    return {**browser_type_launch_args, **extra, "args": CHROMIUM_FLAGS}


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


@pytest.fixture(scope="session")
def postgres() -> Iterator["Postgres"]:
    """One real PostgreSQL server for the whole test run (started on first use, stopped at
    the end); see tests/postgres.py."""
    from tests.postgres import remove, start_postgres

    server = start_postgres()
    try:
        yield server
    finally:
        remove(server)


@pytest.fixture
def postgres_url(postgres: "Postgres") -> Iterator[str]:
    """The URL of a fresh database on the test run's PostgreSQL server (dropped after)."""
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A real Ray cluster on loopback for the whole run (started on first use, stopped at the
    end): a head that places nothing (it holds the cluster's state) and worker nodes of one CPU
    each; see `ray_nodes`."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "include_dashboard": False},
    )
    try:
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def ray_nodes(ray_cluster: Any) -> Any:
    """The run's Ray cluster with two live worker nodes of one CPU each (nodes a test killed are
    replaced): a session's actor lands on a worker node, and there is another to resume on."""
    while len(ray_cluster.worker_nodes) < 2:
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    return ray_cluster
