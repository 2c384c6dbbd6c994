"""Waiting for a session's next change: pushed by PostgreSQL, polled on SQLite.

Every write to a session or its history (in `sessions.py`) sends `NOTIFY rnn_explorer_sessions,
'<session id>'` inside its transaction on PostgreSQL, delivered when it commits. A `Listener`
(one thread and one dedicated connection per store, started on the first wait) LISTENs to the
channel and wakes the threads waiting on that session. While its connection is down (a server
restart) the waits fall back to a short poll and it reconnects by itself. On SQLite a wait is a
short poll: the workers sharing the file are processes of one machine.
"""

import logging
import threading
import time
from collections import defaultdict

__all__ = ["CHANNEL", "POLL_SECONDS", "Listener"]

logger = logging.getLogger(__name__)

CHANNEL = "rnn_explorer_sessions"
POLL_SECONDS = 0.05  # SQLite, and PostgreSQL while the listening connection is down
RECONNECT_SECONDS = 1.0
MAX_WATCHED = 10_000  # sessions whose change counts are kept before they are started afresh


class Listener:
    """The change counts of the sessions, as PostgreSQL's notifications tell them."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._changed = threading.Condition()
        self._counts: defaultdict[str, int] = defaultdict(int)
        self._epoch = 0  # bumped on each (re)connection: what came while down was not heard
        self.connected = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-listener", daemon=True)
        self._thread.start()

    def version(self, session_id: str) -> tuple[int, int]:
        """A value that changes when a notification about `session_id` comes in."""
        with self._changed:
            return self._epoch, self._counts[session_id]

    def wait(self, session_id: str, seen: tuple[int, int], timeout: float) -> None:
        """Until `version(session_id)` differs from `seen`, for at most `timeout` seconds (a
        short poll while disconnected)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.version(session_id) == seen and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                if not self.connected:
                    left = min(left, POLL_SECONDS)
                    self._changed.wait(left)
                    return
                self._changed.wait(left)

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(3.0)

    def _run(self) -> None:
        import psycopg  # only a store on PostgreSQL needs the driver

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as db:
                    db.execute(f"LISTEN {CHANNEL}")
                    self._heard(None, connected=True)
                    while not self._stop.is_set():
                        for notice in db.notifies(timeout=0.5):
                            self._heard(notice.payload, connected=True)
            except psycopg.Error as error:
                if self.connected:
                    logger.warning("lost the database's notifications (%s): polling", error)
                self._heard(None, connected=False)
                self._stop.wait(RECONNECT_SECONDS)

    def _heard(self, session_id: str | None, connected: bool) -> None:
        with self._changed:
            if session_id is None:
                self._epoch += 1
                self.connected = connected
            else:
                if len(self._counts) > MAX_WATCHED:
                    self._counts.clear()
                    self._epoch += 1
                self._counts[session_id] += 1
            self._changed.notify_all()
