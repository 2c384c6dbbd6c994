"""Persistence: models, weights, training sessions, their snapshots and their history.

Everything every worker process must see lives in one database, never in one process's memory:
the embedded SQLite file of the data directory, or a PostgreSQL server shared by processes on
any hosts. `Store` (`records.py`) is the small interface the services use; `SQLStore` (`sql.py`,
on SQLAlchemy Core, its schema migrated by Alembic) implements it over both.
"""

from app.store.engine import safe_url
from app.store.faults import StorageError, fault_of_directory
from app.store.files import atomic_write
from app.store.records import (
    ACTIVE,
    ENDED,
    FINAL,
    ModelRecord,
    NotFoundError,
    SessionRecord,
    SessionStatus,
    Store,
    new_id,
    snapshot_key,
)
from app.store.sql import SQLStore

__all__ = [
    "ACTIVE",
    "ENDED",
    "FINAL",
    "ModelRecord",
    "NotFoundError",
    "SQLStore",
    "SessionRecord",
    "SessionStatus",
    "StorageError",
    "Store",
    "atomic_write",
    "fault_of_directory",
    "new_id",
    "safe_url",
    "snapshot_key",
]
