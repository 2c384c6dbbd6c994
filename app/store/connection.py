"""The SQLite connection of a data directory, and its read-only mode.

A data directory that cannot take a write when the store opens (a full disk: SQLite cannot even
size its shared-memory file; a read-only mount; a folder another user owns) opens read-only: the
database file immutable (or an empty one in memory if there is none), every write refused with a
`StorageError` that names the path and the cause. At most once a second a write tries to open it
read-write again, so freeing space (or remounting) ends the mode without a restart.
"""

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.store.faults import StorageError, diagnose, fault_of_directory
from app.store.files import atomic_write
from app.store.rows import SCHEMA, migrate

__all__ = ["Database"]

RETRY_SECONDS = 1.0
# Space kept aside in data_dir/.reserve while there is plenty: on a full disk SQLite needs room
# for its shared-memory file and a few journal pages before a DELETE can free anything.
RESERVE_BYTES = 128 * 1024


def _create_schema(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


class Database:
    """One SQLite file under `data_dir` (and the folders `models/`, `blobs/` beside it)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "rnn-explorer.sqlite3"
        self._lock = threading.RLock()
        self.fault: StorageError | None = None  # set while in read-only mode
        self._retry_at = 0.0
        try:
            self._db = self._open_writable()
        except (OSError, sqlite3.Error) as error:
            fault = diagnose(error, self.data_dir, self.data_dir)
            if fault is None:
                raise
            self.fault = fault
            self._db = self._open_read_only()
            self._retry_at = time.monotonic() + RETRY_SECONDS

    def _open_writable(self) -> sqlite3.Connection:
        for folder in (self.data_dir, self.data_dir / "models", self.data_dir / "blobs"):
            folder.mkdir(parents=True, exist_ok=True)
        found = fault_of_directory(self.data_dir)
        if found is not None:
            raise StorageError(found[0], self.data_dir, found[1])
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                _create_schema(db)
                migrate(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        self.keep_reserve()
        return db

    def keep_reserve(self) -> None:
        """Set the reserve aside again if it is gone and there is room for it."""
        reserve = self.data_dir / ".reserve"
        try:
            stats = os.statvfs(self.data_dir)
            if not reserve.exists() and stats.f_bavail * stats.f_frsize > 4 * RESERVE_BYTES:
                atomic_write(reserve, bytes(RESERVE_BYTES))
        except OSError:
            pass  # a reserve is a help, not a need

    def release_reserve(self) -> None:
        """Give the reserve's space back (a full disk: so that a DELETE can run)."""
        (self.data_dir / ".reserve").unlink(missing_ok=True)

    def _open_read_only(self) -> sqlite3.Connection:
        if self.path.exists():
            uri = f"file:{self.path}?mode=ro&immutable=1"
            return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        _create_schema(db)
        migrate(db)
        return db

    @property
    def read_only(self) -> bool:
        return self.fault is not None

    def require_writable(self, retry_now: bool = False) -> None:
        """Raise the read-only mode's StorageError, unless the directory takes writes again (a
        try at most once a second, or now if `retry_now`)."""
        with self._lock:
            if self.fault is None:
                return
            now = time.monotonic()
            if now < self._retry_at and not retry_now:
                raise self.fault
            self._retry_at = now + RETRY_SECONDS
            try:
                db = self._open_writable()
            except (OSError, sqlite3.Error):
                raise self.fault from None
            self._db.close()
            self._db, self.fault = db, None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; a storage fault comes out as StorageError."""
        with self._lock:
            self.require_writable()
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise self._storage_error(error) from error
            try:
                yield self._db
            except BaseException as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise self._storage_error(error) from error
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._storage_error(error) from error

    def _storage_error(self, error: sqlite3.Error) -> Exception:
        return diagnose(error, self.path, self.data_dir) or error

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def write_file(self, path: Path, data: bytes) -> None:
        """atomic_write, refused in read-only mode; a storage fault comes out as StorageError."""
        self.require_writable()
        self.guard(path, lambda: atomic_write(path, data))

    def guard(self, path: Path, action: Callable[[], None]) -> None:
        """Run a file operation on `path`; a storage fault comes out as StorageError."""
        try:
            action()
        except OSError as error:
            fault = diagnose(error, path, self.data_dir)
            if fault is None:
                raise
            raise fault from error
