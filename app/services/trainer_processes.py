"""Local trainer processes: each session's loop in a child process of the web worker.

The embedded default. Children are forked by multiprocessing's forkserver, which has imported the
training code once (started when the worker starts), so a new session costs a fork, not an
interpreter start. A child opens its own store from the settings and names itself in the
session's row (`app.services.trainer_child`); the worker keeps a pipe to each child (nudges,
interrupts) and a thread that reaps it when it exits. A child that died without checkpointing
(kill -9, out of memory) leaves its row naming a process that no longer exists, so every worker
reports the session "interrupted" (`app.services.liveness`); the reaper writes it at once.
"""

import contextlib
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import socket
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from app.services.trainer_child import trainer_main
from app.settings import Settings
from app.store import ACTIVE, NotFoundError, StorageError, Store

__all__ = ["ProcessTrainers"]

logger = logging.getLogger(__name__)

PRELOAD = ["app.services.trainer_child"]


@dataclass
class _Child:
    process: BaseProcess
    connection: Connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: str) -> None:
        # a child that has ended has nothing to be told
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.connection.send(message)


class ProcessTrainers:
    """The trainer processes of one web worker (`owner` in the rows it creates)."""

    def __init__(self, store: Store, settings: Settings, owner: str) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        self._stopping = False  # shutdown() marks what it kills; the store closes after it
        # the fork server imports numpy and the engine once, off the request that first trains
        threading.Thread(target=self._warm, name="trainer-forkserver", daemon=True).start()

    @staticmethod
    def _warm() -> None:
        try:
            multiprocessing.forkserver.ensure_running()
        except Exception:  # the first launch starts it (and reports what fails)
            logger.exception("the trainer fork server did not start")

    def launch(self, session_id: str, model_id: str, control: str) -> None:
        """Train the session (its row names this worker, its snapshot is saved) in a child."""
        ours, theirs = self._context.Pipe()
        values = self.settings.model_dump()
        process = self._context.Process(
            target=trainer_main,
            args=(values, session_id, model_id, control, self.owner, theirs),
            name=f"trainer-{session_id}",
            daemon=True,
        )
        child = _Child(process, ours)
        with self._lock:
            self._children[session_id] = child
        try:
            process.start()
        except BaseException:
            with self._lock:
                self._children.pop(session_id, None)
            raise
        finally:
            theirs.close()  # the child's end lives in the child only: its end of file is ours
        threading.Thread(
            target=self._reap, args=(session_id, child), name=f"reap-{session_id}", daemon=True
        ).start()

    def _reap(self, session_id: str, child: _Child) -> None:
        """Wait for the child; one that ended without writing its end leaves its row active:
        mark it interrupted (a pid that is gone is what every worker reads as the same)."""
        child.process.join()
        with self._lock:
            if self._children.get(session_id) is child:
                del self._children[session_id]
        child.connection.close()
        code = child.process.exitcode
        if code != 0:
            logger.warning("the trainer of session %s ended with exit code %s", session_id, code)
        if not self._stopping:
            self._mark_interrupted(session_id, child)

    def _mark_interrupted(self, session_id: str, child: _Child) -> None:
        mine = (self.owner, f"{socket.gethostname()}:{child.process.pid}:")
        try:
            record = self.store.get_session(session_id)
            if record.status in ACTIVE and record.owner.startswith(mine):
                self.store.mark_interrupted_if_silent(session_id, math.inf)
        except (NotFoundError, StorageError):
            pass  # deleted, or a read-only store: every status() read says "interrupted"

    def is_running(self, session_id: str) -> bool:
        with self._lock:
            child = self._children.get(session_id)
        return child is not None and child.process.is_alive()

    def nudge(self, session_id: str) -> None:
        with self._lock:
            child = self._children.get(session_id)
        if child is not None:
            child.send("nudge")

    def pids(self) -> dict[str, int | None]:
        """The pid of each session's trainer process (for the operator and the tests)."""
        with self._lock:
            return {sid: child.process.pid for sid, child in self._children.items()}

    def shutdown(self, timeout: float = 10.0) -> None:
        """Interrupt every child (each checkpoints its session as "interrupted"), wait up to
        `timeout` seconds, then kill what is left and mark its session interrupted."""
        with self._lock:
            self._stopping = True
            children = dict(self._children)
        for child in children.values():
            child.send("interrupt")
        deadline = time.monotonic() + timeout
        for session_id, child in children.items():
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                logger.warning("session %s did not stop in time", session_id)
                child.process.kill()
                child.process.join(5.0)
                self._mark_interrupted(session_id, child)
