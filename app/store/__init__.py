"""Persistence: models, weights, training sessions, their snapshots and their history.

Everything every worker process must see lives here, never in one process's memory. `Store`
(`records.py`) is the small interface the services use; `SQLiteStore` (`sqlite.py`) implements it.
"""

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
from app.store.sqlite import SQLiteStore

__all__ = [
    "ACTIVE",
    "ENDED",
    "FINAL",
    "ModelRecord",
    "NotFoundError",
    "SQLiteStore",
    "SessionRecord",
    "SessionStatus",
    "StorageError",
    "Store",
    "atomic_write",
    "fault_of_directory",
    "new_id",
    "snapshot_key",
]
