"""`Store` on SQLAlchemy Core: the embedded SQLite file or a PostgreSQL server, one implementation.

Every record lives in the database, arrays included (weights, snapshots: safetensors bytes in
LargeBinary columns), so every worker process, on this host or another, sees the same state.
No pickle anywhere. Sessions and their history: `sessions.py`; waiting for their changes:
`waiting.py`.
"""

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update

from app.store.engine import Database
from app.store.faults import StorageError
from app.store.files import remove_orphans
from app.store.records import ModelRecord, NotFoundError, snapshot_key
from app.store.schema import blobs, models, sessions, tokens, weights
from app.store.sessions import SessionTables, upsert

__all__ = ["SQLStore"]


def model_of(row: Any) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        name=row.name,
        config=json.loads(row.config),
        created_at=row.created_at,
        updated_at=row.updated_at,
        weights_version=row.weights_version,
        owner_id=row.owner_id,
    )


def _check_key(key: str) -> str:
    if not key or not all(c.isalnum() or c in "-_" for c in key):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class SQLStore(SessionTables):
    """`Store` on the SQLite file of `data_dir` (`database_url` empty) or on the PostgreSQL
    database at `database_url` (postgresql://user:password@host:port/name)."""

    def __init__(self, data_dir: Path, database_url: str = "") -> None:
        self.data_dir = Path(data_dir)
        self._database = Database(self.data_dir, database_url)
        super().__init__(self._database)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._database.dialect

    @property
    def fault(self) -> StorageError | None:
        """Why the store is in read-only mode (SQLite opened on a full or read-only directory
        and has not been able to write since), or None."""
        return self._database.fault

    def release_reserve(self) -> None:
        """Free the space kept aside for a full disk (see engine.RESERVE_BYTES)."""
        self._database.release_reserve()

    def check_writable(self) -> None:
        """Raise the read-only mode's StorageError, unless the directory takes writes again."""
        self._database.require_writable()

    def collect_orphans(self, grace_seconds: float = 60.0) -> list[Path]:
        """Remove the files a data directory of the version that kept arrays in files still
        holds (`models/`, `blobs/`): each once its bytes are in the database (revision 0002
        read them in), or once it has no row and is older than the grace (an orphan); their
        temp files likewise. Nothing in read-only mode; nothing to do for a database server."""
        folders = [self.data_dir / "models", self.data_dir / "blobs"]
        if self.dialect != "sqlite" or self.fault is not None:
            return []
        if not any(folder.is_dir() for folder in folders):
            return []
        self._database.keep_reserve()
        with self._database.read() as db:
            kept = {row[0] for row in db.execute(select(weights.c.model_id))}
            kept_blobs = {row[0] for row in db.execute(select(blobs.c.key))}
            rows = {row[0] for row in db.execute(select(models.c.id))}
            rows |= {snapshot_key(row[0]) for row in db.execute(select(sessions.c.id))}
        removed = remove_orphans(
            folders, time.time() - grace_seconds, in_database=kept | kept_blobs, with_rows=rows
        )
        for folder in folders:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return removed

    def close(self) -> None:
        self.stop_listening()
        self._database.close()

    # Models ---------------------------------------------------------------------------------

    def create_model(self, record: ModelRecord, weights_bytes: bytes) -> None:
        with self._database.write() as db:
            db.execute(
                insert(models).values(
                    id=record.id,
                    name=record.name,
                    config=json.dumps(record.config),
                    created_at=record.created_at,
                    updated_at=record.updated_at,
                    weights_version=record.weights_version,
                    owner_id=record.owner_id,
                )
            )
            db.execute(insert(weights).values(model_id=record.id, data=weights_bytes))

    def get_model(self, model_id: str) -> ModelRecord:
        with self._database.read() as db:
            row = db.execute(select(models).where(models.c.id == model_id)).first()
        if row is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        return model_of(row)

    def list_models(self) -> list[ModelRecord]:
        with self._database.read() as db:
            rows = db.execute(select(models).order_by(models.c.created_at, models.c.id)).all()
        return [model_of(row) for row in rows]

    def count_models(self) -> int:
        with self._database.read() as db:
            return int(db.execute(select(func.count()).select_from(models)).scalar_one())

    def delete_model(self, model_id: str) -> None:
        """The model's row and weights, its sessions' snapshots, and "stop" as its sessions'
        control, in one transaction. On a full SQLite disk the reserve is given back first, so
        that the transaction has room to run; the pages it frees go back to the disk."""
        full = self.fault is not None and self.fault.fault == "full"
        if full:
            self.release_reserve()
            self._database.require_writable(retry_now=True)
        try:
            self._delete_model_rows(model_id)
        except StorageError as error:
            if error.fault != "full":
                raise
            self.release_reserve()
            self._delete_model_rows(model_id)
        self._database.keep_reserve()

    def _delete_model_rows(self, model_id: str) -> None:
        with self._database.write() as db:
            if db.execute(delete(models).where(models.c.id == model_id)).rowcount == 0:
                raise NotFoundError(f"no model with id {model_id!r}")
            db.execute(delete(weights).where(weights.c.model_id == model_id))
            ids = [
                row[0]
                for row in db.execute(select(sessions.c.id).where(sessions.c.model_id == model_id))
            ]
            if ids:
                keys = [snapshot_key(session_id) for session_id in ids]
                db.execute(delete(blobs).where(blobs.c.key.in_(keys)))
                db.execute(
                    update(sessions).where(sessions.c.model_id == model_id).values(control="stop")
                )
                self._notify(db, ids)

    def read_weights(self, model_id: str) -> bytes:
        with self._database.read() as db:
            found = db.execute(select(models.c.id).where(models.c.id == model_id)).first()
            data = db.execute(select(weights.c.data).where(weights.c.model_id == model_id)).first()
        if found is None:
            raise NotFoundError(f"no model with id {model_id!r}")
        if data is None:
            raise NotFoundError(f"model {model_id!r} has no weights")
        return bytes(data[0])

    def write_weights(self, model_id: str, weights_bytes: bytes) -> int:
        """Replace a model's weights; returns the new weights version."""
        with self._database.write() as db:
            version = db.execute(
                update(models)
                .where(models.c.id == model_id)
                .values(weights_version=models.c.weights_version + 1, updated_at=time.time())
                .returning(models.c.weights_version)
            ).first()
            if version is None:
                raise NotFoundError(f"no model with id {model_id!r}")
            db.execute(
                upsert(db, weights, [{"model_id": model_id, "data": weights_bytes}], ["data"])
            )
        return int(version[0])

    def owner_usage(self, owner_id: str) -> tuple[int, int]:
        """(models, bytes) one owner keeps: its models, the sizes of their weights and of their
        sessions' snapshots."""
        owned = select(models.c.id).where(models.c.owner_id == owner_id)
        keys = select(literal("session-") + sessions.c.id + literal("-snapshot")).where(
            sessions.c.owner_id == owner_id
        )
        with self._database.read() as db:
            count = db.execute(select(func.count()).select_from(owned.subquery())).scalar_one()
            model_bytes = db.execute(
                select(func.coalesce(func.sum(func.length(weights.c.data)), 0)).where(
                    weights.c.model_id.in_(owned)
                )
            ).scalar_one()
            blob_bytes = db.execute(
                select(func.coalesce(func.sum(func.length(blobs.c.data)), 0)).where(
                    blobs.c.key.in_(keys)
                )
            ).scalar_one()
        return int(count), int(model_bytes) + int(blob_bytes)

    # API tokens (only their hashes are kept) ------------------------------------------------

    def create_token(self, token_hash: str, owner_id: str) -> None:
        with self._database.write() as db:
            db.execute(
                insert(tokens).values(
                    token_hash=token_hash, owner_id=owner_id, created_at=time.time()
                )
            )

    def token_owner(self, token_hash: str) -> str | None:
        with self._database.read() as db:
            row = db.execute(
                select(tokens.c.owner_id).where(tokens.c.token_hash == token_hash)
            ).first()
        return None if row is None else str(row[0])

    # Blobs (optimiser state and session snapshots, safetensors bytes) ------------------------

    def write_blob(self, key: str, data: bytes) -> None:
        row = {"key": _check_key(key), "data": data, "updated_at": time.time()}
        with self._database.write() as db:
            db.execute(upsert(db, blobs, [row], ["data", "updated_at"]))

    def read_blob(self, key: str) -> bytes | None:
        with self._database.read() as db:
            row = db.execute(select(blobs.c.data).where(blobs.c.key == _check_key(key))).first()
        return None if row is None else bytes(row[0])
