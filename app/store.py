"""Persistence: models, weights, optimiser state, training sessions and their history.

Everything every worker process must see lives here, never in one process's memory. `Store` is
the small interface the service uses; `SQLiteStore` implements it with an embedded SQLite
database (WAL mode, safe across processes) for metadata, and safetensors files written
atomically (temp file + fsync + os.replace) for arrays. No pickle anywhere.
"""

import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "ModelRecord",
    "NotFoundError",
    "SQLiteStore",
    "SessionRecord",
    "Store",
    "atomic_write",
    "new_id",
]

SCHEMA_VERSION = 1


class NotFoundError(LookupError):
    """An id that names no stored model or session; the message says which."""


@dataclass
class ModelRecord:
    id: str
    name: str
    config: dict[str, Any]
    created_at: float
    updated_at: float
    weights_version: int = 1


@dataclass
class SessionRecord:
    """A training session as every worker sees it.

    status: "running" | "paused" | "stopped" | "finished" | "failed" | "interrupted".
    control: the last command written by any worker ("run" | "pause" | "stop"), read by the
    worker that runs the session. latest: the last progress record.
    """

    id: str
    model_id: str
    status: str
    config: dict[str, Any]
    step: int = 0
    total_steps: int = 0
    control: str = "run"
    owner: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    latest: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class Store(Protocol):
    """What the service needs from persistence; a server database can replace SQLite here."""

    def close(self) -> None: ...

    def create_model(self, record: ModelRecord, weights: bytes) -> None: ...
    def get_model(self, model_id: str) -> ModelRecord: ...
    def list_models(self) -> list[ModelRecord]: ...
    def count_models(self) -> int: ...
    def delete_model(self, model_id: str) -> None: ...
    def read_weights(self, model_id: str) -> bytes: ...
    def write_weights(self, model_id: str, weights: bytes) -> int: ...

    def write_blob(self, key: str, data: bytes) -> None: ...
    def read_blob(self, key: str) -> bytes | None: ...

    def create_session(self, record: SessionRecord) -> None: ...
    def get_session(self, session_id: str) -> SessionRecord: ...
    def list_sessions(self, model_id: str | None = None) -> list[SessionRecord]: ...
    def update_session(self, session_id: str, **changes: Any) -> None: ...
    def count_active_sessions(self, alive_after: float = 0.0) -> int: ...
    def create_session_if_room(
        self, record: SessionRecord, max_active: int, alive_after: float
    ) -> int: ...
    def claim_session(
        self, session_id: str, owner: str, from_statuses: tuple[str, ...], control: str
    ) -> bool: ...
    def mark_interrupted_if_silent(self, session_id: str, alive_after: float) -> bool: ...
    def set_control(self, session_id: str, control: str) -> None: ...
    def take_control(self, session_id: str) -> str: ...
    def truncate_history(self, session_id: str, after_step: int) -> None: ...
    def append_history(self, session_id: str, records: list[dict[str, Any]]) -> None: ...
    def history(
        self, session_id: str, after_step: int = -1, limit: int = 10_000
    ) -> list[dict[str, Any]]: ...


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


_SCHEMA = """
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
    error TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS sessions_model ON sessions(model_id);
CREATE TABLE IF NOT EXISTS history (
    session_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (session_id, step)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_ACTIVE = ("running", "paused")
_SESSION_COLUMNS = (
    "id, model_id, status, config, step, total_steps, control, owner, created_at, updated_at, "
    "latest, error, extra"
)
_JSON_COLUMNS = {"config", "latest", "extra"}


class SQLiteStore:
    """`Store` on one SQLite file and a folder of safetensors files under `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "models").mkdir(exist_ok=True)
        (self.data_dir / "blobs").mkdir(exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.data_dir / "rnn-explorer.sqlite3",
            timeout=30.0,
            isolation_level=None,
            check_same_thread=False,
        )
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # Models ---------------------------------------------------------------------------------

    def _weights_path(self, model_id: str) -> Path:
        return self.data_dir / "models" / f"{model_id}.safetensors"

    def create_model(self, record: ModelRecord, weights: bytes) -> None:
        # The file first: a crash between the two leaves an orphan file, never a row without one.
        atomic_write(self._weights_path(record.id), weights)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO models(id, name, config, created_at, updated_at, weights_version) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    json.dumps(record.config),
                    record.created_at,
                    record.updated_at,
                    record.weights_version,
                ),
            )

    def get_model(self, model_id: str) -> ModelRecord:
        rows = self._query(
            "SELECT id, name, config, created_at, updated_at, weights_version FROM models "
            "WHERE id = ?",
            (model_id,),
        )
        if not rows:
            raise NotFoundError(f"no model with id {model_id!r}")
        return _model(rows[0])

    def list_models(self) -> list[ModelRecord]:
        rows = self._query(
            "SELECT id, name, config, created_at, updated_at, weights_version FROM models "
            "ORDER BY created_at, id"
        )
        return [_model(row) for row in rows]

    def count_models(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM models")[0][0])

    def delete_model(self, model_id: str) -> None:
        with self._transaction() as db:
            if db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount == 0:
                raise NotFoundError(f"no model with id {model_id!r}")
            sessions = [
                row[0]
                for row in db.execute("SELECT id FROM sessions WHERE model_id = ?", (model_id,))
            ]
            db.execute("UPDATE sessions SET control = 'stop' WHERE model_id = ?", (model_id,))
        self._weights_path(model_id).unlink(missing_ok=True)
        for session_id in sessions:
            self._blob_path(f"session-{session_id}-snapshot").unlink(missing_ok=True)

    def read_weights(self, model_id: str) -> bytes:
        self.get_model(model_id)
        try:
            return self._weights_path(model_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"model {model_id!r} has no weights file") from None

    def write_weights(self, model_id: str, weights: bytes) -> int:
        """Replace a model's weights; returns the new weights version."""
        self.get_model(model_id)
        atomic_write(self._weights_path(model_id), weights)
        with self._transaction() as db:
            db.execute(
                "UPDATE models SET weights_version = weights_version + 1, updated_at = ? "
                "WHERE id = ?",
                (time.time(), model_id),
            )
            row = db.execute(
                "SELECT weights_version FROM models WHERE id = ?", (model_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return int(row[0])

    # Blobs (optimiser state and session snapshots, safetensors bytes) ------------------------

    def _blob_path(self, key: str) -> Path:
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError(f"invalid blob key {key!r}")
        return self.data_dir / "blobs" / f"{key}.safetensors"

    def write_blob(self, key: str, data: bytes) -> None:
        atomic_write(self._blob_path(key), data)

    def read_blob(self, key: str) -> bytes | None:
        try:
            return self._blob_path(key).read_bytes()
        except FileNotFoundError:
            return None

    # Sessions -------------------------------------------------------------------------------

    def create_session(self, record: SessionRecord) -> None:
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO sessions({_SESSION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _session_row(record),
            )

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._query(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise NotFoundError(f"no training session with id {session_id!r}")
        return _session(rows[0])

    def list_sessions(self, model_id: str | None = None) -> list[SessionRecord]:
        if model_id is None:
            rows = self._query(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY created_at")
        else:
            rows = self._query(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE model_id = ? ORDER BY created_at",
                (model_id,),
            )
        return [_session(row) for row in rows]

    def update_session(self, session_id: str, **changes: Any) -> None:
        allowed = set(_SESSION_COLUMNS.split(", ")) - {"id", "model_id", "created_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown session field(s): {sorted(unknown)}")
        changes["updated_at"] = time.time()
        values = [
            json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in changes.items()
        ]
        assignments = ", ".join(f"{name} = ?" for name in changes)
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE sessions SET {assignments} WHERE id = ?", (*values, session_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no training session with id {session_id!r}")

    def count_active_sessions(self, alive_after: float = 0.0) -> int:
        """Sessions running or paused whose row was touched after `alive_after` (a time)."""
        return int(
            self._query(
                "SELECT COUNT(*) FROM sessions WHERE status IN (?, ?) AND updated_at > ?",
                (*_ACTIVE, alive_after),
            )[0][0]
        )

    def create_session_if_room(
        self, record: SessionRecord, max_active: int, alive_after: float
    ) -> int:
        """Insert `record` only if fewer than `max_active` live sessions exist (checked and
        inserted in one transaction, so two workers cannot both take the last place).
        Returns the number of live sessions found; the record was stored iff it is below."""
        with self._transaction() as db:
            active = int(
                db.execute(
                    "SELECT COUNT(*) FROM sessions WHERE status IN (?, ?) AND updated_at > ?",
                    (*_ACTIVE, alive_after),
                ).fetchone()[0]
            )
            if active < max_active:
                db.execute(
                    f"INSERT INTO sessions({_SESSION_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _session_row(record),
                )
            return active

    def claim_session(
        self, session_id: str, owner: str, from_statuses: tuple[str, ...], control: str
    ) -> bool:
        """Make `owner` run the session if its status is one of `from_statuses` (compare and
        set: of two workers resuming the same session, one wins)."""
        marks = ", ".join("?" for _ in from_statuses)
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE sessions SET status = 'running', owner = ?, control = ?, error = NULL, "
                f"updated_at = ? WHERE id = ? AND status IN ({marks})",
                (owner, control, time.time(), session_id, *from_statuses),
            )
            return cursor.rowcount == 1

    def mark_interrupted_if_silent(self, session_id: str, alive_after: float) -> bool:
        """A running or paused session not touched since `alive_after` lost its worker."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE sessions SET status = 'interrupted' "
                "WHERE id = ? AND status IN (?, ?) AND updated_at <= ?",
                (session_id, *_ACTIVE, alive_after),
            )
            return cursor.rowcount == 1

    def set_control(self, session_id: str, control: str) -> None:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE sessions SET control = ? WHERE id = ?", (control, session_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no training session with id {session_id!r}")

    def take_control(self, session_id: str) -> str:
        """The session's control; a "step" is consumed (turned into "pause") as it is read."""
        rows = self._query("SELECT control FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise NotFoundError(f"no training session with id {session_id!r}")
        control = str(rows[0][0])
        if control == "step":
            with self._transaction() as db:
                cursor = db.execute(
                    "UPDATE sessions SET control = 'pause' WHERE id = ? AND control = 'step'",
                    (session_id,),
                )
                if cursor.rowcount == 0:  # another command came in between: read it next time
                    return "pause"
        return control

    def truncate_history(self, session_id: str, after_step: int) -> None:
        """Forget records past `after_step` (a session resumed from an older snapshot)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM history WHERE session_id = ? AND step > ?", (session_id, after_step)
            )

    def append_history(self, session_id: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO history(session_id, step, record) VALUES (?, ?, ?)",
                [(session_id, int(r["step"]), json.dumps(r)) for r in records],
            )

    def history(
        self, session_id: str, after_step: int = -1, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT record FROM history WHERE session_id = ? AND step > ? ORDER BY step LIMIT ?",
            (session_id, after_step, limit),
        )
        return [json.loads(row[0]) for row in rows]


def _model(row: tuple[Any, ...]) -> ModelRecord:
    return ModelRecord(
        id=row[0],
        name=row[1],
        config=json.loads(row[2]),
        created_at=row[3],
        updated_at=row[4],
        weights_version=row[5],
    )


def _session_row(record: SessionRecord) -> tuple[Any, ...]:
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
        json.dumps(record.extra),
    )


def _session(row: tuple[Any, ...]) -> SessionRecord:
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
        extra=json.loads(row[12]),
    )
