"""kill -9 in a loop while the server writes models, weights and snapshots: with every array in
the database, a killed write leaves nothing behind. Read from the data directory itself: no file
but the database's own (and the secret key, the reserve), every model with its weights and every
weights row with its model, every snapshot with its session, every acknowledged model kept; on
the embedded SQLite file and on PostgreSQL."""

import signal
import threading
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, text

from tests.servers import LiveServer

INSTRUCTOR = "orphan-sweep-tests-instructor-token"
BIG = {"input_size": 8, "hidden_size": 512, "output_size": 8, "cell": "lstm"}  # ~4 MB of weights
SINE_MODEL = {"input_size": 1, "hidden_size": 64, "output_size": 1, "output_mode": "last"}
DATABASE_FILES = {"rnn-explorer.sqlite3", "rnn-explorer.sqlite3-wal", "rnn-explorer.sqlite3-shm"}


def strays(data: Path, url: str) -> list[str]:
    """What the data directory holds that has no place there, and rows without their pair (in
    its SQLite file, or in the PostgreSQL database at `url`)."""
    found = [
        path.name
        for path in data.iterdir()
        if path.name not in DATABASE_FILES | {"secret.key", ".reserve"}
    ]
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://")
        or f"sqlite:///file:{data / 'rnn-explorer.sqlite3'}?mode=ro&uri=true"
    )
    try:
        with engine.connect() as db:
            models = {row[0] for row in db.execute(text("SELECT id FROM models"))}
            weights = {row[0] for row in db.execute(text("SELECT model_id FROM weights"))}
            sessions = {row[0] for row in db.execute(text("SELECT id FROM sessions"))}
            blobs = {row[0] for row in db.execute(text("SELECT key FROM blobs"))}
    finally:
        engine.dispose()
    found += [f"model {m} without weights" for m in models - weights]
    found += [f"weights {m} without a model" for m in weights - models]
    snapshots = {f"session-{s}-snapshot" for s in sessions}
    found += [f"blob {key} without a session" for key in blobs - snapshots]
    return found


def hammer(base_url: str, stop: threading.Event, acknowledged: list[str]) -> None:
    """Create big models until the server dies under it; the ids it answered 201 go in
    `acknowledged`."""
    headers = {"Authorization": f"Bearer {INSTRUCTOR}"}
    with httpx2.Client(base_url=base_url, timeout=10, headers=headers) as http:
        while not stop.is_set():
            try:
                reply = http.post("/api/v1/models", json={"config": BIG})
            except httpx2.HTTPError:
                return
            if reply.status_code == 201:
                acknowledged.append(reply.json()["id"])


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_kill_9_in_a_loop_leaves_nothing_behind_and_loses_nothing_acknowledged(
    tmp_path: Path, dialect: str, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    url = str(request.getfixturevalue("postgres_url")) if dialect == "postgresql" else ""
    settings = {"instructor_token": INSTRUCTOR, "snapshot_seconds": 0.02, "database_url": url}
    victim = LiveServer(data, **settings)
    headers = {"Authorization": f"Bearer {INSTRUCTOR}"}
    acknowledged: list[str] = []
    for round_ in range(5):
        victim.start()
        with httpx2.Client(base_url=victim.base_url, timeout=30, headers=headers) as http:
            model = http.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
            acknowledged.append(model)
            task = {"task": "sine", "task_params": {"length": 64}, "batch_size": 32}
            body = {**task, "steps": 10**5, "early_stop": None}
            reply = http.post(f"/api/v1/models/{model}/train", json=body)
            assert reply.status_code == 202, reply.text
        stop = threading.Event()
        threads = [
            threading.Thread(target=hammer, args=(victim.base_url, stop, acknowledged))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.4 + 0.15 * round_)
        victim.stop(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(15)
        assert strays(data, url) == []
    victim.start()
    try:
        with httpx2.Client(base_url=victim.base_url, timeout=30, headers=headers) as http:
            kept = {m["id"] for m in http.get("/api/v1/models").json()}
            assert set(acknowledged) <= kept
            for model in acknowledged[:3]:
                assert http.get(f"/api/v1/models/{model}/weights").status_code == 200
    finally:
        victim.stop()
    assert strays(data, url) == []
