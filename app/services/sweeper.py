"""The periodic sweep: what killed processes left in the data directory, collected while the
server runs (not only when it starts), and a read-only store's retry of the disk.

A thread of each worker wakes every `sweep_seconds`, asks the store to remove orphan files older
than `orphan_grace_seconds` (temp files of unfinished writes, weights and snapshots without a
row) and, in read-only mode, whether the data directory takes writes again.
"""

import contextlib
import logging
import threading

from app.settings import Settings
from app.store import StorageError, Store

__all__ = ["Sweeper"]

logger = logging.getLogger(__name__)


class Sweeper:
    """A daemon thread sweeping `store` every `settings.sweep_seconds` until `stop()`."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="orphan-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sweep(self) -> None:
        """One pass: a read-only store retries the disk, then orphans older than the grace go."""
        with contextlib.suppress(StorageError):
            self.store.check_writable()
        for path in self.store.collect_orphans(self.settings.orphan_grace_seconds):
            logger.warning("removed %s: left behind by a process that was killed", path)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_seconds):
            try:
                self.sweep()
            except Exception:  # the next pass tries again; a sweep must not end the thread
                logger.exception("the orphan sweep failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
