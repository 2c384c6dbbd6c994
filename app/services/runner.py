"""The loop that trains one session, and its bookkeeping in the store.

The loop runs in a trainer (a process of its own or a Ray actor: `app.services.trainers`), never
in a web worker; the web worker uses `SessionRunners.checkpoint` only to save a new session's
first snapshot. Before every update the loop asks the store for the session's control ("run" |
"pause" | "stop" | "step", written by any worker; at most every `control_poll_seconds` while
running, at once after a nudge), appends progress records to the history, touches its row every
`heartbeat_seconds`, and saves a snapshot (parameters, optimiser state, RNG, data cursor:
`TrainingSession.snapshot()`) with the model's weights every `snapshot_seconds`, on pause, after a
single step and at the end. An interrupted loop (its trainer told to shut down) is checkpointed
and marked "interrupted".

An update can take longer than a click may wait (a T = 1000 LSTM's takes a few hundred ms), so a
watcher thread beside each loop reads the control while the loop trains (every
`control_poll_seconds`, at once after a nudge): a pause or stop (or the trainer's shutdown) that
comes while an update is in flight makes the update give way part way (the session's `give_way`
hook, asked between timesteps); the abandoned update changes nothing and the loop reads its
control at once.
"""

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from app.rnn import weights as weights_io
from app.services.tasks import finite
from app.settings import Settings
from app.store import NotFoundError, StorageError, Store, snapshot_key
from app.training import Snapshot, TrainingSession

__all__ = ["NotSavedError", "Runner", "SessionRunners", "read_snapshot"]

logger = logging.getLogger(__name__)


class _ShutdownError(Exception):
    """The worker is shutting down: leave the training loop between two updates."""


class NotSavedError(Exception):
    """A checkpoint could not be written (a full or read-only data directory): the session
    failed, its row says why (if the store took even that); `cause` is the StorageError."""

    def __init__(self, cause: StorageError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _LostError(Exception):
    """Another worker resumed this session (it took this one for dead): stop, write nothing."""


@dataclass
class Runner:
    """One session trained by this worker, and when it last polled, touched and saved."""

    session_id: str
    model_id: str
    session: TrainingSession
    control: str = "run"
    saved_step: int = -1
    interrupt: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    polled_at: float = 0.0
    touched_at: float = 0.0
    saved_at: float = 0.0
    checked_at: float = 0.0  # when the row's owner was last read (progress writes do not read it)
    give_way: threading.Event = field(default_factory=threading.Event)  # abandon the update
    wake: threading.Event = field(default_factory=threading.Event)  # the watcher reads now
    ended: threading.Event = field(default_factory=threading.Event)


def read_snapshot(store: Store, session_id: str) -> Snapshot | None:
    """The session's last snapshot from the store, or None if it has none."""
    blob = store.read_blob(snapshot_key(session_id))
    if blob is None:
        return None
    meta = json.loads(weights_io.metadata(blob)["meta"])
    return Snapshot(load_safetensors(blob), meta)


class SessionRunners:
    """The sessions this process trains, each in a thread of its own; `owner` names the process
    in the store ("host:pid:nonce[:identity]")."""

    def __init__(self, store: Store, settings: Settings, owner: str) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner
        self._runners: dict[str, Runner] = {}
        self._lock = threading.Lock()

    def is_running(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._runners

    def nudge(self, session_id: str) -> None:
        """A control was just written for a session trained here: its next poll (before its
        next update) reads the store instead of waiting out `control_poll_seconds`."""
        with self._lock:
            runner = self._runners.get(session_id)
        if runner is not None:
            runner.polled_at = -math.inf
            runner.wake.set()

    def launch(self, runner: Runner) -> None:
        runner.session.on_progress = lambda record: self._on_progress(runner, record)
        runner.session.poll_control = lambda: self._poll(runner)
        runner.session.give_way = runner.give_way.is_set
        runner.touched_at = runner.saved_at = time.monotonic()
        thread = threading.Thread(
            target=self._train, args=(runner,), name=f"training-{runner.session_id}", daemon=True
        )
        runner.thread = thread
        with self._lock:
            self._runners[runner.session_id] = runner
        thread.start()
        watcher = threading.Thread(
            target=self._watch, args=(runner,), name=f"control-{runner.session_id}", daemon=True
        )
        watcher.start()

    def _watch(self, runner: Runner) -> None:
        """While the loop trains: a pause or stop in the store (from any worker), or this
        trainer's shutdown, makes the update in flight give way (a step in flight finishes
        unless it is stopped: its "step" already reads "pause")."""
        while not runner.ended.is_set():
            runner.wake.wait(self.settings.control_poll_seconds)
            runner.wake.clear()
            if runner.ended.is_set():
                return
            if runner.interrupt.is_set():
                runner.give_way.set()
                continue
            training = runner.control  # what the loop last read: "pause" is not training
            if training not in ("run", "step") or runner.give_way.is_set():
                continue
            try:
                control = self.store.get_session(runner.session_id).control
            except NotFoundError:
                control = "stop"
            except StorageError:
                continue  # the loop's own reads say what is wrong
            if control == "stop" or (control == "pause" and training == "run"):
                runner.give_way.set()

    def _train(self, runner: Runner) -> None:
        try:
            self._run(runner)
        except NotSavedError:
            pass  # the session's row says why
        finally:
            runner.ended.set()
            runner.wake.set()
            with self._lock:
                self._runners.pop(runner.session_id, None)

    def _run(self, runner: Runner) -> None:
        try:
            status = runner.session.run()
            self.checkpoint(runner, status)
        except _ShutdownError:
            self.checkpoint(runner, "interrupted")
        except _LostError:
            logger.warning("session %s is trained by another worker now", runner.session_id)
        except NotSavedError:
            raise
        except StorageError as error:  # a progress record the store refused
            logger.error("session %s: %s", runner.session_id, error)
            runner.session.status = "failed"
            step = runner.session.step_count
            runner.session.error = f"the progress at step {step} was not saved: {error}"
            self._report_failure(runner)
        except Exception as error:  # a bug must not leave the session "running" forever
            logger.exception("training session %s crashed", runner.session_id)
            runner.session.status = "failed"
            runner.session.error = f"{type(error).__name__}: {error}"
            self.checkpoint(runner, "failed")

    def _poll(self, runner: Runner) -> str:
        """The session's `poll_control` hook: the control from the store, and bookkeeping."""
        if runner.interrupt.is_set():
            raise _ShutdownError
        now = time.monotonic()
        given_way = runner.give_way.is_set()  # an update gave way for a control: read it now
        recent = now - runner.polled_at < self.settings.control_poll_seconds
        if runner.control == "run" and recent and not given_way:
            return "run"
        runner.give_way.clear()  # what is read now is acted on before the next update
        runner.polled_at = now
        try:
            control = self.store.take_control(runner.session_id)
        except NotFoundError:
            return "stop"
        session = runner.session
        heartbeat_due = now - runner.touched_at >= self.settings.heartbeat_seconds
        # however often progress renews the row, whose session it is gets read at this pace
        if heartbeat_due or now - runner.checked_at >= self.settings.heartbeat_seconds:
            self._check_ownership(runner, control)
            runner.checked_at = now
        if control == "pause":
            if session.step_count != runner.saved_step:
                self.checkpoint(runner, "paused")
            elif runner.control != "pause" or heartbeat_due:
                self._touch(runner, "paused")
        elif control in ("run", "step"):
            if now - runner.saved_at >= self.settings.snapshot_seconds:
                self.checkpoint(runner, "running")
            elif runner.control == "pause" or heartbeat_due:
                self._touch(runner, "running")
        runner.control = control
        return control

    def _check_ownership(self, runner: Runner, control: str) -> None:
        """A step longer than `stale_seconds` can make another worker report this session
        interrupted: take it back, unless someone has resumed it meanwhile."""
        record = self.store.get_session(runner.session_id)
        if record.owner != self.owner:
            raise _LostError
        if record.status == "interrupted":
            taken = self.store.claim_session(
                runner.session_id, self.owner, ("interrupted",), control
            )
            if not taken:
                raise _LostError

    def _touch(self, runner: Runner, status: str) -> None:
        """The heartbeat: status and step in the row, `updated_at` renewed."""
        step = runner.session.step_count
        self.store.update_session(runner.session_id, status=status, step=step)
        runner.touched_at = time.monotonic()

    def _on_progress(self, runner: Runner, record: dict[str, Any]) -> None:
        clean = finite(record)
        self.store.append_history(runner.session_id, [clean])
        self.store.update_session(runner.session_id, step=int(record["step"]), latest=clean)
        runner.touched_at = time.monotonic()

    def checkpoint(self, runner: Runner, status: str) -> None:
        """Save the model's weights and the snapshot, then the row (so the row never points
        past what is saved). A deleted model's session keeps no snapshot. A save the data
        directory refuses fails the session with the error on its row (never left to resume
        from an older snapshot) and raises NotSavedError."""
        session = runner.session
        try:
            self._save(runner)
        except StorageError as error:
            logger.error("session %s: %s", runner.session_id, error)
            session.status = status = "failed"
            session.error = f"the snapshot at step {session.step_count} was not saved: {error}"
            self._report_failure(runner)
            raise NotSavedError(error) from error
        self.store.update_session(
            runner.session_id,
            status=status,
            step=session.step_count,
            latest=finite(session.latest),
            error=session.error,
        )
        runner.saved_step = session.step_count
        runner.saved_at = runner.touched_at = time.monotonic()

    def _save(self, runner: Runner) -> None:
        session = runner.session
        try:
            weights = weights_io.save(session.model, session.net.params)
            self.store.write_weights(runner.model_id, weights)
        except NotFoundError:
            logger.info(
                "model %s was deleted during session %s", runner.model_id, runner.session_id
            )
            return
        snapshot = session.snapshot()
        metadata = {"meta": json.dumps(snapshot.meta)}
        arrays = {k: np.ascontiguousarray(v) for k, v in snapshot.arrays.items()}
        blob = save_safetensors(arrays, metadata)
        self.store.write_blob(snapshot_key(runner.session_id), blob)

    def _report_failure(self, runner: Runner) -> None:
        """Write the failed status and its error on the row; while the store refuses even that,
        try again at the heartbeat's pace (the worker keeps the session, so no one takes it for
        interrupted and resumes it) until it is written or the worker shuts down."""
        while True:
            try:
                self.store.update_session(
                    runner.session_id,
                    status="failed",
                    step=runner.session.step_count,
                    error=runner.session.error,
                )
                return
            except NotFoundError:
                return
            except StorageError as error:
                logger.error("session %s: its failure not recorded: %s", runner.session_id, error)
                if error.fault == "full":
                    self.store.release_reserve()  # room for this row
            if runner.thread is None:  # not training yet (a start): the answer says why
                return
            if runner.interrupt.wait(self.settings.heartbeat_seconds):
                return

    def shutdown(self, timeout: float = 10.0) -> None:
        """Checkpoint every session this worker runs and mark it interrupted."""
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.interrupt.set()
        deadline = time.monotonic() + timeout
        for runner in runners:
            if runner.thread is not None:
                runner.thread.join(max(0.0, deadline - time.monotonic()))
                if runner.thread.is_alive():
                    logger.warning("session %s did not stop in time", runner.session_id)
                    self.store.update_session(runner.session_id, status="interrupted")
