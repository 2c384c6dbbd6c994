"""Two app instances on one PostgreSQL database, and a client of either acting as the
instructor (who may use every model and session, whichever instance made it)."""

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.servers import AS_INSTRUCTOR, LiveServer


@pytest.fixture
def servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    first = LiveServer(tmp_path / "a", database_url=postgres_url)
    second = LiveServer(tmp_path / "b", database_url=postgres_url)
    with first, second:
        yield first, second


def http(server: LiveServer) -> httpx2.Client:
    """A client of `server` acting as the instructor."""
    return httpx2.Client(base_url=server.base_url, timeout=30, headers=AS_INSTRUCTOR)
