"""One session's training loop where a trainer runs it: a local trainer process or a Ray actor.

Both run the same code: `SessionTrainer` opens its own store from the settings, reads the
session's last snapshot (the web worker saved the first one when it started the session), takes
the session's row over from the worker that launched it (the row's `owner` becomes this process,
so every worker can tell whether it is alive), and runs `SessionRunners`' loop until the session
ends, its trainer is told to shut down (checkpointed as "interrupted") or someone else takes it.

`trainer_main` is the entry point of a local trainer process: it listens on a pipe to its web
worker for "nudge" (a control was written: read it now) and "interrupt"; the pipe's end (the web
worker died) interrupts it too, so a trainer never outlives the worker that answers for it.
"""

import logging
import os
import signal
import socket
import threading
import uuid
from multiprocessing.connection import Connection
from typing import Any

from app.services.limits import Limits
from app.services.liveness import process_identity
from app.services.runner import Runner, SessionRunners, read_snapshot
from app.services.stores import open_store
from app.settings import Settings
from app.store import ACTIVE, NotFoundError, StorageError, Store
from app.training import TrainingSession

__all__ = ["SessionTrainer", "process_owner", "trainer_main"]

logger = logging.getLogger(__name__)


def process_owner() -> str:
    """This process's name in a session's row: host:pid:nonce[:identity] (app.services.liveness)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    identity = process_identity(os.getpid())
    return owner if identity is None else f"{owner}:{identity}"


class SessionTrainer:
    """The loop of session `session_id` in this process, taken over from `launcher` (the owner
    the row names until this trainer claims it)."""

    def __init__(
        self, settings: Settings, session_id: str, model_id: str, control: str, launcher: str
    ) -> None:
        self.settings = settings
        self.session_id = session_id
        self.model_id = model_id
        self.control = control
        self.launcher = launcher
        self.owner = process_owner()
        self.runner: Runner | None = None
        self._interrupted = threading.Event()
        self._store: Store | None = None
        self._runners: SessionRunners | None = None

    def run(self) -> None:
        """Train until the session ends or this trainer is interrupted; blocks."""
        store = self._store = open_store(self.settings)
        try:
            runner = self._claim(store)
            if runner is None:
                return
            self._runners = SessionRunners(store, self.settings, self.owner)
            self.runner = runner
            if self._interrupted.is_set():
                runner.interrupt.set()
            self._runners.launch(runner)
            assert runner.thread is not None
            runner.thread.join()
        finally:
            store.close()

    def _claim(self, store: Store) -> Runner | None:
        """The session from its snapshot, its row now naming this process; None if the row is
        no longer the launcher's (someone else resumed or ended it meanwhile)."""
        try:
            record = store.get_session(self.session_id)
        except NotFoundError:
            return None
        if record.owner != self.launcher or record.status not in ACTIVE:
            logger.warning("session %s was taken over before its trainer began", self.session_id)
            return None
        snapshot = read_snapshot(store, self.session_id)
        # stopped before it began (its model deleted, snapshot and all): it ends here
        stopped = snapshot is None or record.control == "stop"
        if stopped and store.get_session(self.session_id).control == "stop":
            store.update_session(self.session_id, status="stopped")
            return None
        try:
            if snapshot is None:
                raise ValueError("it has no snapshot")
            session = TrainingSession.from_snapshot(
                snapshot,
                max_batch_elements=self.settings.max_elements,
                task_limits=Limits(self.settings).task_limits,
            )
        except Exception as error:  # a snapshot that cannot be read is the session's failure
            logger.exception("session %s: its snapshot cannot be loaded", self.session_id)
            store.update_session(
                self.session_id, status="failed", error=f"the snapshot cannot be loaded: {error}"
            )
            return None
        store.update_session(self.session_id, owner=self.owner)
        runner = Runner(self.session_id, self.model_id, session, control=self.control)
        runner.saved_step = session.step_count
        return runner

    def nudge(self) -> None:
        """A control was written for the session: read it before the next update."""
        if self._runners is not None:
            self._runners.nudge(self.session_id)

    def interrupt(self) -> None:
        """Checkpoint the session as "interrupted" between two updates and end the loop."""
        self._interrupted.set()
        if self.runner is not None:
            self.runner.interrupt.set()


def _listen(connection: Connection, trainer: SessionTrainer) -> None:
    """The web worker's messages until the pipe closes (the worker is gone: interrupt)."""
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            trainer.interrupt()
            return
        if message == "nudge":
            trainer.nudge()
        elif message == "interrupt":
            trainer.interrupt()


def trainer_main(
    values: dict[str, Any],
    session_id: str,
    model_id: str,
    control: str,
    launcher: str,
    connection: Connection,
) -> None:
    """A local trainer process: train one session, steered by the store and `connection`."""
    # Ctrl-C reaches the whole process group: the web worker decides when its trainers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = Settings(**values)
    os.nice(settings.trainer_nice)  # batch work: a student's step on the same cores goes first
    trainer = SessionTrainer(settings, session_id, model_id, control, launcher)
    signal.signal(signal.SIGTERM, lambda *_: trainer.interrupt())
    threading.Thread(target=_listen, args=(connection, trainer), daemon=True).start()
    try:
        trainer.run()
    except StorageError as error:  # the store cannot be opened or read: the row cannot say it
        logger.error("session %s: %s", session_id, error)
        raise SystemExit(3) from error
