"""The SQLite schema and the conversions between its rows and the store's records."""

import json
import sqlite3
from typing import Any

from app.store.records import ModelRecord, SessionRecord

__all__ = [
    "JSON_COLUMNS",
    "MODEL_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "migrate",
    "model_of",
    "session_of",
    "session_row",
]

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    weights_version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    control TEXT NOT NULL DEFAULT 'run',
    owner TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    latest TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS sessions_model ON sessions(model_id);
CREATE TABLE IF NOT EXISTS history (
    session_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (session_id, step)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

SESSION_COLUMNS = (
    "id, model_id, status, config, step, total_steps, control, owner, created_at, updated_at, "
    "latest, error, owner_id"
)
MODEL_COLUMNS = "id, name, config, created_at, updated_at, weights_version, owner_id"

# Columns added after version 1, with their definitions: `migrate` adds the missing ones to an
# older database (its rows then belong to owner "", nobody but the instructor).
ADDED_COLUMNS = {
    "models": {"owner_id": "TEXT NOT NULL DEFAULT ''"},
    "sessions": {"owner_id": "TEXT NOT NULL DEFAULT ''"},
}


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an older version up to this schema (inside a transaction)."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, definition in columns.items():
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
    db.execute("CREATE INDEX IF NOT EXISTS models_owner ON models(owner_id)")
    db.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


JSON_COLUMNS = {"config", "latest"}


def model_of(row: tuple[Any, ...]) -> ModelRecord:
    return ModelRecord(
        id=row[0],
        name=row[1],
        config=json.loads(row[2]),
        created_at=row[3],
        updated_at=row[4],
        weights_version=row[5],
        owner_id=row[6],
    )


def session_row(record: SessionRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.model_id,
        record.status,
        json.dumps(record.config),
        record.step,
        record.total_steps,
        record.control,
        record.owner,
        record.created_at,
        record.updated_at,
        None if record.latest is None else json.dumps(record.latest),
        record.error,
        record.owner_id,
    )


def session_of(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        model_id=row[1],
        status=row[2],
        config=json.loads(row[3]),
        step=row[4],
        total_steps=row[5],
        control=row[6],
        owner=row[7],
        created_at=row[8],
        updated_at=row[9],
        latest=None if row[10] is None else json.loads(row[10]),
        error=row[11],
        owner_id=row[12],
    )
