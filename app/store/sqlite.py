"""`Store` on an embedded SQLite database and a folder of safetensors files.

SQLite (WAL mode, safe across the worker processes of one machine) keeps the metadata: models,
sessions, their histories; arrays (weights, snapshots) are safetensors files written atomically
(temp file + fsync + os.replace). No pickle anywhere.
"""

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from app.store.connection import Database
from app.store.faults import StorageError
from app.store.files import remove_files, remove_orphans
from app.store.records import ACTIVE, ModelRecord, NotFoundError, SessionRecord, snapshot_key
from app.store.rows import (
    JSON_COLUMNS,
    MODEL_COLUMNS,
    SESSION_COLUMNS,
    model_of,
    session_of,
    session_row,
)

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """`Store` on one SQLite file and a folder of safetensors files under `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._database = Database(self.data_dir)
        self._transaction = self._database.transaction
        self._query = self._database.query

    @property
    def fault(self) -> StorageError | None:
        """Why the store is in read-only mode (it opened on a full or read-only directory and
        has not been able to write since), or None."""
        return self._database.fault

    def release_reserve(self) -> None:
        """Free the space kept aside for a full disk (see connection.RESERVE_BYTES)."""
        self._database.release_reserve()

    def check_writable(self) -> None:
        """Raise the read-only mode's StorageError, unless the directory takes writes again."""
        self._database.require_writable()

    def collect_orphans(self, grace_seconds: float = 60.0) -> list[Path]:
        """Remove what a killed process left behind (see files.remove_orphans); nothing in
        read-only mode."""
        if self.fault is not None:
            return []
        self._database.keep_reserve()
        models = {row[0] for row in self._query("SELECT id FROM models")}
        snapshots = {snapshot_key(row[0]) for row in self._query("SELECT id FROM sessions")}
        return remove_orphans(
            [(self.data_dir / "models", models), (self.data_dir / "blobs", snapshots)],
            time.time() - grace_seconds,
        )

    def close(self) -> None:
        self._database.close()

    # Models ---------------------------------------------------------------------------------

    def _weights_path(self, model_id: str) -> Path:
        return self.data_dir / "models" / f"{model_id}.safetensors"

    def create_model(self, record: ModelRecord, weights: bytes) -> None:
        # The file first: a crash between the two leaves an orphan file, never a row without one.
        self._database.write_file(self._weights_path(record.id), weights)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO models(id, name, config, created_at, updated_at, weights_version, "
                "owner_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    json.dumps(record.config),
                    record.created_at,
                    record.updated_at,
                    record.weights_version,
                    record.owner_id,
                ),
            )

    def get_model(self, model_id: str) -> ModelRecord:
        rows = self._query(
            f"SELECT {MODEL_COLUMNS} FROM models WHERE id = ?",
            (model_id,),
        )
        if not rows:
            raise NotFoundError(f"no model with id {model_id!r}")
        return model_of(rows[0])

    def list_models(self) -> list[ModelRecord]:
        rows = self._query(f"SELECT {MODEL_COLUMNS} FROM models ORDER BY created_at, id")
        return [model_of(row) for row in rows]

    def count_models(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM models")[0][0])

    def delete_model(self, model_id: str) -> None:
        """The model's row, its sessions' controls ("stop"), then its files. On a full disk the
        files go first (the space they free lets the row go); a file that cannot be removed
        once the row is gone is left to the orphan sweep (logged, not an error)."""
        sessions = [
            row[0] for row in self._query("SELECT id FROM sessions WHERE model_id = ?", (model_id,))
        ]
        files = [self._weights_path(model_id)]
        files += [self._blob_path(snapshot_key(session_id)) for session_id in sessions]
        full = self.fault is not None and self.fault.fault == "full"
        if full and self._query("SELECT 1 FROM models WHERE id = ?", (model_id,)):
            remove_files(files)
            self.release_reserve()
            self._database.require_writable(retry_now=True)
        try:
            self._delete_model_row(model_id)
        except StorageError as error:
            if error.fault != "full" or not self._query(
                "SELECT 1 FROM models WHERE id = ?", (model_id,)
            ):
                raise
            remove_files(files)  # the space they free lets the row go
            self.release_reserve()
            self._delete_model_row(model_id)
        remove_files(files)

    def _delete_model_row(self, model_id: str) -> None:
        with self._transaction() as db:
            if db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount == 0:
                raise NotFoundError(f"no model with id {model_id!r}")
            db.execute("UPDATE sessions SET control = 'stop' WHERE model_id = ?", (model_id,))

    def read_weights(self, model_id: str) -> bytes:
        self.get_model(model_id)
        try:
            return self._weights_path(model_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"model {model_id!r} has no weights file") from None

    def write_weights(self, model_id: str, weights: bytes) -> int:
        """Replace a model's weights; returns the new weights version."""
        self.get_model(model_id)
        self._database.write_file(self._weights_path(model_id), weights)
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

    # API tokens (only their hashes are kept) ------------------------------------------------

    def create_token(self, token_hash: str, owner_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tokens(token_hash, owner_id, created_at) VALUES (?, ?, ?)",
                (token_hash, owner_id, time.time()),
            )

    def token_owner(self, token_hash: str) -> str | None:
        rows = self._query("SELECT owner_id FROM tokens WHERE token_hash = ?", (token_hash,))
        return str(rows[0][0]) if rows else None

    # Blobs (optimiser state and session snapshots, safetensors bytes) ------------------------

    def _blob_path(self, key: str) -> Path:
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError(f"invalid blob key {key!r}")
        return self.data_dir / "blobs" / f"{key}.safetensors"

    def write_blob(self, key: str, data: bytes) -> None:
        self._database.write_file(self._blob_path(key), data)

    def read_blob(self, key: str) -> bytes | None:
        try:
            return self._blob_path(key).read_bytes()
        except FileNotFoundError:
            return None

    # Sessions -------------------------------------------------------------------------------

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._query(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise NotFoundError(f"no training session with id {session_id!r}")
        return session_of(rows[0])

    def list_sessions(self, model_id: str | None = None) -> list[SessionRecord]:
        if model_id is None:
            rows = self._query(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at")
        else:
            rows = self._query(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE model_id = ? ORDER BY created_at",
                (model_id,),
            )
        return [session_of(row) for row in rows]

    def update_session(self, session_id: str, **changes: Any) -> None:
        allowed = set(SESSION_COLUMNS.split(", ")) - {"id", "model_id", "created_at", "owner_id"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown session field(s): {sorted(unknown)}")
        changes["updated_at"] = time.time()
        values = [
            json.dumps(v) if k in JSON_COLUMNS and v is not None else v for k, v in changes.items()
        ]
        assignments = ", ".join(f"{name} = ?" for name in changes)
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE sessions SET {assignments} WHERE id = ?", (*values, session_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no training session with id {session_id!r}")

    def count_active_sessions(self, alive_after: float = 0.0, owner_id: str | None = None) -> int:
        """Sessions running or paused whose row was touched after `alive_after` (a time); of
        one owner if `owner_id` is given."""
        sql = "SELECT COUNT(*) FROM sessions WHERE status IN (?, ?) AND updated_at > ?"
        params: tuple[Any, ...] = (*ACTIVE, alive_after)
        if owner_id is not None:
            sql, params = f"{sql} AND owner_id = ?", (*params, owner_id)
        return int(self._query(sql, params)[0][0])

    def owner_usage(self, owner_id: str) -> tuple[int, int]:
        """(models, bytes) one owner keeps: its models, and the sizes of their weights files and
        of their sessions' snapshots."""
        models = [
            row[0] for row in self._query("SELECT id FROM models WHERE owner_id = ?", (owner_id,))
        ]
        sessions = [
            row[0] for row in self._query("SELECT id FROM sessions WHERE owner_id = ?", (owner_id,))
        ]
        paths = [self._weights_path(m) for m in models]
        paths += [self._blob_path(snapshot_key(s)) for s in sessions]
        size = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                size += path.stat().st_size
        return len(models), size

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
                    (*ACTIVE, alive_after),
                ).fetchone()[0]
            )
            if active < max_active:
                db.execute(
                    f"INSERT INTO sessions({SESSION_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    session_row(record),
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
                (session_id, *ACTIVE, alive_after),
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
