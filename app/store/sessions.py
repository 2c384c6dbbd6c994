"""Training sessions and their history in the store's database, and waiting for their changes.

Every write to a session or its history notifies its waiters (`waiting.py`): on PostgreSQL a
NOTIFY in the write's own transaction, so a follower on any instance hears it when it commits.
"""

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Executable, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.store.engine import Database
from app.store.records import ACTIVE, NotFoundError, SessionRecord
from app.store.schema import history, sessions
from app.store.waiting import CHANNEL, POLL_SECONDS, Listener

__all__ = ["SessionTables", "upsert"]

JSON_COLUMNS = {"config", "latest"}
SESSION_FIELDS = tuple(column.name for column in sessions.columns)
UPDATABLE = set(SESSION_FIELDS) - {"id", "model_id", "created_at", "owner_id"}
# PostgreSQL: the advisory lock that makes "count the live sessions, insert if there is room"
# one step for every process (SQLite's BEGIN IMMEDIATE does that there).
ROOM_LOCK_KEY = 0x524E4E53


def upsert(db: Connection, table: Table, rows: list[dict[str, Any]], replace: list[str]) -> Any:
    """INSERT `rows` into `table`, replacing the `replace` columns of a row whose primary key
    is taken (INSERT ... ON CONFLICT DO UPDATE, in either dialect)."""
    dialect = postgresql if db.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(rows)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in replace}
    )


def session_of(row: Any) -> SessionRecord:
    values = dict(row._mapping)
    values["config"] = json.loads(values["config"])
    values["latest"] = None if values["latest"] is None else json.loads(values["latest"])
    return SessionRecord(**values)


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"no training session with id {session_id!r}")


def _live(alive_after: float) -> Any:
    return sessions.c.status.in_(ACTIVE) & (sessions.c.updated_at > alive_after)


class SessionTables:
    """The session half of `SQLStore` (see `records.Store` for what each method promises)."""

    def __init__(self, database: Database) -> None:
        self._sessions_db = database
        self._listener: Listener | None = None
        self._listener_lock = threading.Lock()

    def _notify(self, db: Connection, session_ids: Iterable[str]) -> None:
        if db.dialect.name == "postgresql":
            for session_id in session_ids:
                db.execute(select(func.pg_notify(CHANNEL, session_id)))

    def _write(self, session_id: str, statement: Executable) -> int:
        """Run one statement in a write transaction that notifies `session_id`'s waiters;
        returns its row count."""
        with self._sessions_db.write() as db:
            count = int(db.execute(statement).rowcount)
            if count:
                self._notify(db, [session_id])
        return count

    def get_session(self, session_id: str) -> SessionRecord:
        with self._sessions_db.read() as db:
            row = db.execute(select(sessions).where(sessions.c.id == session_id)).first()
        if row is None:
            raise _not_found(session_id)
        return session_of(row)

    def list_sessions(self, model_id: str | None = None) -> list[SessionRecord]:
        query = select(sessions).order_by(sessions.c.created_at, sessions.c.id)
        if model_id is not None:
            query = query.where(sessions.c.model_id == model_id)
        with self._sessions_db.read() as db:
            return [session_of(row) for row in db.execute(query)]

    def update_session(self, session_id: str, **changes: Any) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"unknown session field(s): {sorted(unknown)}")
        changes["updated_at"] = time.time()
        values = {
            k: json.dumps(v) if k in JSON_COLUMNS and v is not None else v
            for k, v in changes.items()
        }
        statement = update(sessions).where(sessions.c.id == session_id).values(values)
        if not self._write(session_id, statement):
            raise _not_found(session_id)

    def count_active_sessions(self, alive_after: float = 0.0, owner_id: str | None = None) -> int:
        """Sessions running or paused whose row was touched after `alive_after` (a time); of
        one owner if `owner_id` is given."""
        query = select(func.count()).select_from(sessions).where(_live(alive_after))
        if owner_id is not None:
            query = query.where(sessions.c.owner_id == owner_id)
        with self._sessions_db.read() as db:
            return int(db.execute(query).scalar_one())

    def create_session_if_room(
        self, record: SessionRecord, max_active: int, alive_after: float
    ) -> int:
        """Insert `record` only if fewer than `max_active` live sessions exist (checked and
        inserted in one serialised transaction, so two workers cannot both take the last
        place). Returns the number of live sessions found; the record was stored iff below."""
        row = {name: getattr(record, name) for name in SESSION_FIELDS}
        row["config"] = json.dumps(record.config)
        row["latest"] = None if record.latest is None else json.dumps(record.latest)
        with self._sessions_db.write() as db:
            if db.dialect.name == "postgresql":
                db.execute(select(func.pg_advisory_xact_lock(ROOM_LOCK_KEY)))
            count = select(func.count()).select_from(sessions).where(_live(alive_after))
            active = int(db.execute(count).scalar_one())
            if active < max_active:
                db.execute(insert(sessions).values(row))
                self._notify(db, [record.id])
        return active

    def claim_session(
        self, session_id: str, owner: str, from_statuses: tuple[str, ...], control: str
    ) -> bool:
        """Make `owner` run the session if its status is one of `from_statuses` (compare and
        set: of two workers resuming the same session, one wins)."""
        statement = (
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.status.in_(from_statuses))
            .values(status="running", owner=owner, control=control, error=None)
            .values(updated_at=time.time())
        )
        return self._write(session_id, statement) == 1

    def mark_interrupted_if_silent(self, session_id: str, alive_after: float) -> bool:
        """A running or paused session not touched since `alive_after` lost its worker."""
        statement = (
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.status.in_(ACTIVE))
            .where(sessions.c.updated_at <= alive_after)
            .values(status="interrupted")
        )
        return self._write(session_id, statement) == 1

    def set_control(self, session_id: str, control: str) -> None:
        statement = update(sessions).where(sessions.c.id == session_id).values(control=control)
        if not self._write(session_id, statement):
            raise _not_found(session_id)

    def take_control(self, session_id: str) -> str:
        """The session's control; a "step" is consumed (turned into "pause") as it is read."""
        with self._sessions_db.read() as db:
            row = db.execute(select(sessions.c.control).where(sessions.c.id == session_id)).first()
        if row is None:
            raise _not_found(session_id)
        control = str(row[0])
        if control == "step":
            statement = (
                update(sessions)
                .where(sessions.c.id == session_id, sessions.c.control == "step")
                .values(control="pause")
            )
            if not self._write(session_id, statement):
                return "pause"  # another command came in between: read it next time
        return control

    def truncate_history(self, session_id: str, after_step: int) -> None:
        """Forget records past `after_step` (a session resumed from an older snapshot)."""
        self._write(
            session_id,
            delete(history).where(history.c.session_id == session_id, history.c.step > after_step),
        )

    def append_history(self, session_id: str, records: list[dict[str, Any]]) -> None:
        """Add records (a replayed step replaces the one it replays)."""
        if not records:
            return
        rows = [
            {"session_id": session_id, "step": int(r["step"]), "record": json.dumps(r)}
            for r in records
        ]
        with self._sessions_db.write() as db:
            db.execute(upsert(db, history, rows, ["record"]))
            self._notify(db, [session_id])

    def history(
        self, session_id: str, after_step: int = -1, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        query = (
            select(history.c.record)
            .where(history.c.session_id == session_id, history.c.step > after_step)
            .order_by(history.c.step)
            .limit(limit)
        )
        with self._sessions_db.read() as db:
            return [json.loads(row[0]) for row in db.execute(query)]

    def wait_for_history(
        self,
        session_id: str,
        after_step: int,
        timeout: float,
        status: str | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """The session's records after `after_step` as soon as there are any; [] once its status
        is not `status` (given: the one the caller last saw) or after `timeout` seconds.
        Pushed on PostgreSQL (LISTEN/NOTIFY), a short poll on SQLite. NotFoundError if no such
        session."""
        deadline = time.monotonic() + timeout
        listener = self._listen()
        while True:
            seen = listener.version(session_id) if listener else None
            records = self.history(session_id, after_step, limit)
            if records:
                return records
            now_status = self.get_session(session_id).status
            if status is None:
                status = now_status
            elif now_status != status:
                return []
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            if listener is None or seen is None:
                time.sleep(min(left, POLL_SECONDS))
            else:
                listener.wait(session_id, seen, left)

    def _listen(self) -> Listener | None:
        if self._sessions_db.dialect != "postgresql":
            return None
        with self._listener_lock:
            if self._listener is None:
                self._listener = Listener(self._sessions_db.conninfo)
            return self._listener

    def stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
