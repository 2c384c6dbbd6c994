"""compose.yaml, proven without a Docker engine: parsed, and its services wired to each other
(two app instances on PostgreSQL and a Ray cluster) with settings the app accepts."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("app1", "app2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_it_has_two_apps_postgresql_and_a_ray_head_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*APPS, "db", "ray-head", "ray-worker"}
    assert services["db"]["image"].startswith("postgres:")
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["ray-head"] and services["ray-head"]["build"] == "."
    assert (ROOT / "Dockerfile").exists()
    for name in (*APPS, "ray-head", "ray-worker"):
        assert services[name]["image"] == services["ray-head"]["image"], name
    published = [services[name]["ports"][0].split(":") for name in APPS]
    assert len({host for host, _ in published}) == len(APPS)
    assert {container for _, container in published} == {"8000"}


def test_every_app_names_the_database_and_the_ray_head_the_services_provide(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    db = services["db"]["environment"]
    head = services["ray-head"]["command"]
    assert head[:3] == ["ray", "start", "--head"] and "--block" in head
    head_port = next(arg.split("=")[1] for arg in head if arg.startswith("--port="))
    worker = services["ray-worker"]["command"]
    assert f"--address=ray-head:{head_port}" in worker and "--block" in worker
    for name in APPS:
        env = services[name]["environment"]
        url = urlsplit(env["RNN_EXPLORER_DATABASE_URL"])
        assert url.scheme.startswith("postgresql")
        assert (url.hostname, url.username, url.password, url.path.lstrip("/")) == (
            "db",
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            db["POSTGRES_DB"],
        )
        assert env["RNN_EXPLORER_RAY_ADDRESS"] == f"ray-head:{head_port}"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        # the settings the app reads from its environment are ones it accepts
        known = {f"RNN_EXPLORER_{field.upper()}" for field in Settings.model_fields}
        unknown = {key for key in env if key not in known} - {"RNN_EXPLORER_DATABASE_URL"}
        assert not unknown, unknown
        values = {
            key.removeprefix("RNN_EXPLORER_").lower(): value
            for key, value in env.items()
            if key in known
        }
        settings = Settings(**values)
        assert settings.ray_address == f"ray-head:{head_port}"


def test_the_apps_and_the_ray_nodes_share_one_data_volume_and_settings(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in (*APPS, "ray-head", "ray-worker"):
        assert "data:/data" in services[name]["volumes"], name
        assert services[name]["environment"] == services["app1"]["environment"], name
    assert {"data", "pgdata"} <= set(compose["volumes"])
