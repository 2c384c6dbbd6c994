"""A data directory made by the version of the store before Alembic (its SQLite schema, with or
without the owner columns added later, and the arrays in safetensors files) is upgraded when the
server starts: every model, its weights, sessions, snapshots and history kept, the files read
into the database and removed; what a killed process of that version left (temp files, files
without a row) collected, a fresh file kept for its grace. A fresh database gets the same schema."""

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect

from app.main import create_app
from app.settings import Settings
from app.store import SQLStore, snapshot_key
from app.store.schema import metadata
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for

INSTRUCTOR = "migration-tests-instructor-token"
TEACHER = {"Authorization": f"Bearer {INSTRUCTOR}"}

# The schema the store created before it had migrations (schema_version 2; version 1 had no
# owner_id columns), as its own SQL.
OLD_SCHEMA = """
CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    weights_version INTEGER NOT NULL DEFAULT 1{owner});
CREATE TABLE sessions (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, status TEXT NOT NULL,
    config TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0, control TEXT NOT NULL DEFAULT 'run',
    owner TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL,
    latest TEXT, error TEXT{owner});
CREATE INDEX sessions_model ON sessions(model_id);
CREATE TABLE history (session_id TEXT NOT NULL, step INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (session_id, step));
CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, owner_id TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '{version}');
"""

SESSION_COLUMNS = (
    "id, model_id, status, config, step, total_steps, control, owner, created_at, updated_at, "
    "latest, error"
)
MODEL_COLUMNS = "id, name, config, created_at, updated_at, weights_version"


def aged(path: Path, data: bytes = b"left behind", seconds: float = 3600) -> Path:
    path.write_bytes(data)
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


def trained_model(data: Path) -> tuple[str, str, bytes, bytes, list[dict[str, object]]]:
    """A model trained by the app on `data`: (model id, session id, weights, snapshot,
    history) as the app serves them."""
    settings = Settings(data_dir=data, instructor_token=INSTRUCTOR)
    with TestClient(create_app(settings), headers=TEACHER) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 20}
        ).json()["id"]
        wait_for(client, session, ("finished",))
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        history = client.get(f"/api/v1/training/{session}/history").json()
    store = SQLStore(data)
    snapshot = store.read_blob(snapshot_key(session))
    store.close()
    assert snapshot is not None
    return model_id, session, weights, snapshot, history


def old_directory(source: Path, target: Path, with_owners: bool) -> None:
    """`target` as the old store would have left it, with the rows and arrays of `source`."""
    (target / "models").mkdir(parents=True)
    (target / "blobs").mkdir()
    owner = ", owner_id TEXT NOT NULL DEFAULT ''" if with_owners else ""
    old = sqlite3.connect(target / "rnn-explorer.sqlite3")
    old.executescript(OLD_SCHEMA.format(owner=owner, version=2 if with_owners else 1))
    new = sqlite3.connect(source / "rnn-explorer.sqlite3")
    extra = ", owner_id" if with_owners else ""
    for table, columns in (("models", MODEL_COLUMNS), ("sessions", SESSION_COLUMNS)):
        for row in new.execute(f"SELECT {columns}{extra} FROM {table}"):
            marks = ", ".join("?" for _ in row)
            old.execute(f"INSERT INTO {table}({columns}{extra}) VALUES ({marks})", row)
    for row in new.execute("SELECT session_id, step, record FROM history"):
        old.execute("INSERT INTO history VALUES (?, ?, ?)", row)
    for model_id, data in new.execute("SELECT model_id, data FROM weights"):
        (target / "models" / f"{model_id}.safetensors").write_bytes(data)
    for key, data in new.execute("SELECT key, data FROM blobs"):
        (target / "blobs" / f"{key}.safetensors").write_bytes(data)
    old.commit()
    old.close()
    new.close()


@pytest.mark.parametrize("with_owners", [True, False], ids=["schema-2", "schema-1"])
def test_an_old_data_directory_is_migrated_with_its_models_and_files(
    tmp_path: Path, with_owners: bool
) -> None:
    model_id, session, weights, snapshot, history = trained_model(tmp_path / "new")
    data = tmp_path / "old"
    old_directory(tmp_path / "new", data, with_owners)
    models, blobs = data / "models", data / "blobs"
    # what kill -9 of the old version leaves: a half-written temp file, a weights file whose row
    # never came, the snapshot of a session whose row is gone; and a fresh file (a live write)
    orphans = [
        aged(models / f".{model_id}.safetensors.x1y2.tmp"),
        aged(models / "0123456789abcdef.safetensors"),
        aged(blobs / "session-fedcba9876543210-snapshot.safetensors"),
    ]
    fresh = aged(models / "feedfacefeedface.safetensors", seconds=0)
    settings = Settings(data_dir=data, instructor_token=INSTRUCTOR)
    with TestClient(create_app(settings), headers=TEACHER) as client:
        assert [m["id"] for m in client.get("/api/v1/models").json()] == [model_id]
        assert client.get(f"/api/v1/models/{model_id}/weights").content == weights
        assert client.get(f"/api/v1/training/{session}").json()["status"] == "finished"
        assert client.get(f"/api/v1/training/{session}/history").json() == history
        # the migrated model trains on: its weights are read from the database
        again = client.post(f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 5})
        assert again.status_code == 202, again.text
        wait_for(client, again.json()["id"], ("finished",))
        assert client.get(f"/api/v1/models/{model_id}/weights").content != weights
    store = SQLStore(data)
    try:
        assert store.read_blob(snapshot_key(session)) == snapshot
        assert store.read_blob("session-fedcba9876543210-snapshot") is None  # an orphan's
        assert store.get_model(model_id).owner_id == ("instructor" if with_owners else "")
    finally:
        store.close()
    assert not any(path.exists() for path in orphans)
    assert not (models / f"{model_id}.safetensors").exists()  # its bytes are in the database
    assert not blobs.exists()  # every snapshot read in: nothing left in files
    assert fresh.exists()  # within its grace: a live write of an old process is never touched
    engine = create_engine(f"sqlite:///{data / 'rnn-explorer.sqlite3'}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == {*metadata.tables, "alembic_version"}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_fresh_database_has_the_schema_of_the_tables(
    tmp_path: Path, dialect: str, request: pytest.FixtureRequest
) -> None:
    url = ""
    if dialect == "postgresql":
        url = str(request.getfixturevalue("postgres_url"))
    # two stores opened at once on a fresh database: one migrates, the other finds it current
    opened: list[SQLStore] = []
    threads = [
        threading.Thread(target=lambda: opened.append(SQLStore(tmp_path, url))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 2
    for store in opened:
        store.close()
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://")
        or f"sqlite:///{tmp_path / 'rnn-explorer.sqlite3'}"
    )
    try:
        found = inspect(engine)
        assert set(found.get_table_names()) == {*metadata.tables, "alembic_version"}
        for name, table in metadata.tables.items():
            assert {c["name"] for c in found.get_columns(name)} == set(table.columns.keys())
            assert {i["name"] for i in found.get_indexes(name)} == {i.name for i in table.indexes}
    finally:
        engine.dispose()
