"""The store's database: SQLite in the data directory, or PostgreSQL at a URL, as one SQLAlchemy
engine, and its faults as `StorageError`s.

SQLite (the embedded default, `data_dir/rnn-explorer.sqlite3`): WAL mode, safe across the worker
processes of one machine; a write transaction starts with BEGIN IMMEDIATE (two workers never
deadlock upgrading a read lock). A data directory that cannot take a write when the store opens
(a full disk, a read-only mount, a folder another user owns) opens read-only: the file immutable
(or an empty database in memory if there is none), every write refused with a `StorageError`
naming the path and the cause; at most once a second a write tries read-write again, so freeing
space (or remounting) ends the mode without a restart.

PostgreSQL (`postgresql+psycopg://...`): a pool whose connections are pinged before use, so a
server that restarted is reconnected to without a restart of ours; while it is down or
restarting every request answers 503 naming the database (never its password).
"""

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, pool

from app.store.faults import StorageError, diagnose, fault_of_directory
from app.store.files import atomic_write
from app.store.migrate import upgrade
from app.store.schema import metadata

__all__ = ["Database", "safe_url"]

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
# Space kept aside in data_dir/.reserve while there is plenty: on a full disk SQLite needs room
# for its shared-memory file and a few WAL pages before a DELETE can free anything.
RESERVE_BYTES = 256 * 1024
# PostgreSQL connections of one process: 5 kept, up to 25 under load (and one more for the
# notifications), so that a few instances stay within the server's default 100 connections.
PG_POOL_SIZE, PG_POOL_OVERFLOW = 5, 20
# How long start-up waits for a database server that is not up yet.
STARTUP_WAIT_SECONDS = 30.0


def safe_url(url: str) -> str:
    """`url` as it may be shown: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _driver_url(url: str) -> str:
    """A PostgreSQL URL with the psycopg (3) driver; ValueError naming the setting otherwise."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ValueError("RNN_EXPLORER_DATABASE_URL: not a database URL") from None
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            "RNN_EXPLORER_DATABASE_URL: only postgresql:// URLs are supported (empty: the "
            f"embedded SQLite file); got {safe_url(url)}"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _sqlite_engine(connect: Any, static: bool = False) -> Engine:
    """An engine whose connections `connect()` makes; reads and writes each a transaction."""
    engine = create_engine(
        "sqlite://",
        creator=connect,
        poolclass=pool.StaticPool if static else pool.QueuePool,
        **({} if static else {"pool_size": 8, "max_overflow": 56, "pool_timeout": 60}),
    )

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("store_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _connect_writable(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA auto_vacuum = FULL")  # a fresh file gives deleted rows' pages back
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA journal_size_limit = 262144")
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        db.close()
        raise
    return db


class Database:
    """The engine of a store, its dialect ("sqlite" or "postgresql") and its read-only mode."""

    def __init__(self, data_dir: Path, url: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "rnn-explorer.sqlite3"
        self.dialect = "postgresql" if url else "sqlite"
        self.name = safe_url(url) if url else str(self.path)
        self._password = make_url(url).password if url else None
        self._lock = threading.RLock()
        self.fault: StorageError | None = None  # set while in read-only mode (SQLite)
        self._retry_at = 0.0
        self.conninfo = ""
        if url:
            self.url = _driver_url(url)
            # the same server for psycopg itself (the notifications' connection)
            self.conninfo = (
                make_url(self.url)
                .set(drivername="postgresql")
                .render_as_string(hide_password=False)
            )
            self.engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=PG_POOL_SIZE,
                max_overflow=PG_POOL_OVERFLOW,
                pool_timeout=10,
                connect_args={"connect_timeout": 5},
            )
            self._wait_for_server()
            return
        try:
            self.engine = self._open_writable()
        except (OSError, sqlite3.Error, exc.DBAPIError) as error:
            fault = diagnose(getattr(error, "orig", error), self.data_dir, self.data_dir)
            if fault is None:
                raise
            self.fault = fault
            self.engine = self._open_read_only()
            self._retry_at = time.monotonic() + RETRY_SECONDS

    def _wait_for_server(self) -> None:
        deadline = time.monotonic() + STARTUP_WAIT_SECONDS
        while True:
            try:
                with self.write() as connection:
                    upgrade(connection, self.data_dir)
                return
            except StorageError as error:
                if error.fault != "unavailable" or time.monotonic() > deadline:
                    raise
                logger.warning("waiting for the database: %s", error)
                time.sleep(1.0)

    def _open_writable(self) -> Engine:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        found = fault_of_directory(self.data_dir)
        if found is not None:
            raise StorageError(found[0], self.data_dir, found[1])
        engine = _sqlite_engine(lambda: _connect_writable(self.path))
        try:
            with (
                engine.connect().execution_options(store_write=True) as connection,
                connection.begin(),
            ):
                upgrade(connection, self.data_dir)
        except BaseException:
            engine.dispose()
            raise
        self.keep_reserve()
        return engine

    def _open_read_only(self) -> Engine:
        if self.path.exists():
            uri = f"file:{self.path}?mode=ro&immutable=1"
            return _sqlite_engine(
                lambda: sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
            )
        engine = _sqlite_engine(
            lambda: sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False),
            static=True,
        )
        metadata.create_all(engine)
        return engine

    def keep_reserve(self) -> None:
        """Set the reserve aside again if it is gone and there is room for it (SQLite)."""
        if self.dialect != "sqlite":
            return
        reserve = self.data_dir / ".reserve"
        try:
            stats = os.statvfs(self.data_dir)
            if not reserve.exists() and stats.f_bavail * stats.f_frsize > 4 * RESERVE_BYTES:
                atomic_write(reserve, bytes(RESERVE_BYTES))
        except OSError:
            pass  # a reserve is a help, not a need

    def release_reserve(self) -> None:
        """Give the reserve's space back (a full disk: so that a DELETE can run)."""
        if self.dialect == "sqlite":
            (self.data_dir / ".reserve").unlink(missing_ok=True)

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
                engine = self._open_writable()
            except (OSError, sqlite3.Error, exc.DBAPIError, StorageError):
                raise self.fault from None
            self.engine.dispose()
            self.engine, self.fault = engine, None

    def close(self) -> None:
        with self._lock:
            self.engine.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on leaving; a fault comes out as StorageError."""
        self.require_writable()
        with self._translated(), self.engine.connect() as connection:
            connection = connection.execution_options(store_write=True)
            with connection.begin():
                yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent view); a fault comes out as StorageError."""
        with self._translated(), self.engine.connect() as connection, connection.begin():
            yield connection

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (exc.DBAPIError, exc.TimeoutError) as error:
            raise self.storage_error(error) from error

    def storage_error(self, error: Exception) -> Exception:
        """A database error as the StorageError it is, or itself (a bug: let it through)."""
        original = getattr(error, "orig", None) or error
        if self.dialect == "sqlite":
            if isinstance(original, sqlite3.Error | OSError):
                return diagnose(original, self.path, self.data_dir) or error
            return error
        unavailable = isinstance(error, exc.TimeoutError | exc.OperationalError) or (
            isinstance(error, exc.DBAPIError)
            and (error.connection_invalidated or isinstance(error, exc.InterfaceError))
        )
        if not unavailable:
            return error
        cause = str(original).strip().splitlines()[0] if str(original).strip() else repr(error)
        if self._password:
            cause = cause.replace(self._password, "***")
        return StorageError("unavailable", self.name, cause)
