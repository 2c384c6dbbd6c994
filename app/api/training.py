"""Training sessions that any worker can start, steer and read, through the store.

A session trains in a thread of the worker that started (or resumed) it. The thread asks the
store for its control ("run" | "pause" | "stop" | "step", written by any worker) before every
update (at most every `CONTROL_POLL_SECONDS` while running), appends progress records to the
history, touches its row every `heartbeat_seconds`, and saves a snapshot (parameters, optimiser
state, RNG, data cursor: `TrainingSession.snapshot()`) with the model's weights every
`snapshot_seconds`, on pause, after a single step and at the end. When the worker shuts down, its
sessions are checkpointed and marked "interrupted"; a session whose worker died without that is
recognised (its process is gone, or its row fell silent for `stale_seconds`) and reported
"interrupted" too. `resume` continues an interrupted session from its snapshot, bit for bit.
"""

import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from app.api.arrays import to_array
from app.api.errors import ConflictError, InputError, LimitError
from app.api.schemas import SessionHistory, SessionInfo, TrainRequest
from app.api.service import Limits
from app.api.tasks import TaskService, finite
from app.config import Settings
from app.rnn import ModelConfig
from app.rnn import weights as weights_io
from app.rnn.arrays import Array
from app.store import NotFoundError, SessionRecord, Store, new_id
from app.training import Snapshot, TrainingConfig, TrainingSession

__all__ = ["TrainingService"]

logger = logging.getLogger(__name__)

ACTIVE = ("running", "paused")
FINAL = ("stopped", "finished", "early_stopped", "failed")
CONTROL_POLL_SECONDS = 0.1
ACK_SECONDS = 3.0
# Fields whose null means "the task's default"; for clip, truncate, early_stop and
# validation_fraction null means "none".
_DEFAULTED = ("optimizer", "lr", "batch_size", "steps", "report_every", "seed")


class _ShutdownError(Exception):
    """The worker is shutting down: leave the training loop between two updates."""


class _LostError(Exception):
    """Another worker resumed this session (it took this one for dead): stop, write nothing."""


@dataclass
class _Runner:
    session_id: str
    model_id: str
    session: TrainingSession
    interrupt: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    control: str = "run"
    polled_at: float = 0.0
    touched_at: float = 0.0
    saved_at: float = 0.0
    saved_step: int = -1


def _snapshot_key(session_id: str) -> str:
    return f"session-{session_id}-snapshot"


def _owner_alive(owner: str) -> bool | None:
    """True/False when `owner` ran on this host (its pid can be checked), else None."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TrainingService:
    def __init__(
        self, store: Store, settings: Settings, limits: Limits, tasks: TaskService
    ) -> None:
        self.store = store
        self.settings = settings
        self.limits = limits
        self.tasks = tasks
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._runners: dict[str, _Runner] = {}
        self._lock = threading.Lock()

    # Starting -------------------------------------------------------------------------------

    def start(self, model_id: str, request: TrainRequest) -> SessionInfo:
        """Check the request against the limits, build the session, claim a place, train."""
        record = self.store.get_model(model_id)
        self.reap()
        # A cheap refusal before the data is built; the insert below re-checks atomically.
        active = self.store.count_active_sessions(time.time() - self.settings.stale_seconds)
        if active >= self.settings.max_sessions:
            raise self._full(active)
        config = ModelConfig.from_dict(record.config)
        training = self._training_config(request, config)
        inputs, targets = self._data(request, config)
        _, params = weights_io.load(self.store.read_weights(model_id))
        session = TrainingSession(training, config, params=params, inputs=inputs, targets=targets)
        now = time.time()
        control = "pause" if request.start_paused else "run"
        status = "paused" if request.start_paused else "running"
        session_record = SessionRecord(
            id=new_id(),
            model_id=model_id,
            status=status,
            config=training.to_dict(),
            total_steps=training.steps,
            control=control,
            owner=self.owner,
            created_at=now,
            updated_at=now,
        )
        active = self.store.create_session_if_room(
            session_record, self.settings.max_sessions, now - self.settings.stale_seconds
        )
        if active >= self.settings.max_sessions:
            raise self._full(active)
        runner = _Runner(session_record.id, model_id, session, control=control)
        self._checkpoint(runner, status)
        self._launch(runner)
        return self.status(session_record.id)

    def _training_config(self, request: TrainRequest, config: ModelConfig) -> TrainingConfig:
        given = request.model_dump(exclude_unset=True, exclude={"data", "start_paused"})
        for name in _DEFAULTED:
            if given.get(name) is None:
                given.pop(name, None)
        fields: dict[str, Any] = {}
        if request.task is not None:
            task = self.tasks.get(request.task, field="task")
            if request.data is not None:
                raise InputError("data", "give either a task or data, not both")
            fields.update(task.default_training)
        elif request.data is None:
            raise InputError("task", "training needs a task (GET /api/v1/tasks) or data")
        fields.update(given)
        training = TrainingConfig.from_dict(fields)
        self.limits.check(
            "steps", "the number of training steps", "max_training_steps", training.steps
        )
        self.limits.check("batch_size", "the batch size B", "max_batch", training.batch_size)
        if training.task is not None:
            task = self.tasks.get(training.task)
            self.tasks.check_params(task, training.task_params, "task_params")
            task.check_config(config, training.task_params)
            T = int(task.sample(training.seed, 1, **training.task_params).inputs.shape[1])
            self.limits.data(config, training.batch_size, T, field="task_params")
        return training

    def _data(self, request: TrainRequest, config: ModelConfig) -> tuple[Array | None, Any]:
        if request.data is None:
            return None, None
        X = to_array(request.data.inputs, "data.inputs", (2, 3), "float64")
        N, T = (1, X.shape[0]) if X.ndim == 2 else X.shape[:2]
        self.limits.check("data.inputs", "the number of steps T", "max_steps", T)
        width = config.input_size + config.num_layers * config.gates * config.hidden_size
        self.limits.check("data.inputs", "the size N·T·(D + L·G·H)", "max_elements", N * T * width)
        targets = to_array(request.data.targets, "data.targets", (0, 1, 2, 3), "float64")
        if config.loss == "cross_entropy" and np.array_equal(targets, np.round(targets)):
            return X, targets.astype(np.int64)
        return X, targets

    def _full(self, active: int) -> LimitError:
        return LimitError(
            "sessions",
            "the number of training sessions running or paused",
            "max_sessions",
            self.settings.max_sessions,
            active + 1,
            429,
        )

    # Controls -------------------------------------------------------------------------------

    def control(self, session_id: str, action: str) -> SessionInfo:
        """pause | resume | step | stop, from any worker; waits briefly for the session's
        worker to act on it so the answer shows the new state."""
        info = self.status(session_id)
        if info.status in FINAL:
            raise ConflictError(
                f"session {session_id!r} is {info.status} at step {info.step}; "
                "it cannot be paused, resumed, stepped or stopped"
            )
        if info.status == "interrupted":
            if action == "pause":
                raise ConflictError(
                    f"session {session_id!r} is interrupted (its worker ended); "
                    "resume or step it to continue"
                )
            if action == "stop":
                self.store.update_session(session_id, status="stopped", control="stop")
                return self.status(session_id)
            self._adopt(session_id, "run" if action == "resume" else "step")
        else:
            control = {"pause": "pause", "resume": "run", "step": "step", "stop": "stop"}[action]
            self.store.set_control(session_id, control)
        return self._await_ack(session_id, action, info.step)

    def _await_ack(self, session_id: str, action: str, step_before: int) -> SessionInfo:
        deadline = time.monotonic() + ACK_SECONDS
        while True:
            info = self.status(session_id)
            done = {
                "pause": info.status == "paused",
                "resume": info.status == "running" or info.status in FINAL,
                "step": (info.step > step_before and info.status == "paused")
                or info.status in FINAL,
                "stop": info.status in FINAL,
            }[action]
            if done or info.status == "interrupted" or time.monotonic() > deadline:
                return info
            time.sleep(0.02)

    def _adopt(self, session_id: str, control: str) -> None:
        """Resume an interrupted session in this worker from its last snapshot."""
        blob = self.store.read_blob(_snapshot_key(session_id))
        if blob is None:
            raise ConflictError(f"session {session_id!r} has no snapshot to resume from")
        arrays = load_safetensors(blob)
        meta = json.loads(_metadata(blob)["meta"])
        session = TrainingSession.from_snapshot(Snapshot(arrays, meta))
        record = self.store.get_session(session_id)
        self.reap()
        now = time.time()
        active = self.store.count_active_sessions(now - self.settings.stale_seconds)
        if active >= self.settings.max_sessions:
            raise self._full(active)
        if not self.store.claim_session(session_id, self.owner, ("interrupted",), control):
            raise ConflictError(f"session {session_id!r} was resumed by another worker")
        self.store.truncate_history(session_id, session.step_count)
        runner = _Runner(session_id, record.model_id, session, control=control)
        runner.saved_step = session.step_count
        self._launch(runner)

    # Reading --------------------------------------------------------------------------------

    def status(self, session_id: str) -> SessionInfo:
        record = self.store.get_session(session_id)
        if record.status in ACTIVE and self._lost(record):
            self.store.mark_interrupted_if_silent(session_id, math.inf)
            record = self.store.get_session(session_id)
        return _info(record)

    def _lost(self, record: SessionRecord) -> bool:
        """Whether an active session's worker is gone."""
        if record.owner == self.owner:
            with self._lock:
                return record.id not in self._runners
        alive = _owner_alive(record.owner)
        if alive is not None:
            return not alive
        return record.updated_at < time.time() - self.settings.stale_seconds

    def list_all(self, model_id: str | None = None) -> list[SessionInfo]:
        return [self.status(record.id) for record in self.store.list_sessions(model_id)]

    def history(self, session_id: str, after_step: int, limit: int) -> SessionHistory:
        self.store.get_session(session_id)
        records = self.store.history(session_id, after_step, limit)
        last = int(records[-1]["step"]) if records else after_step
        return SessionHistory(session=session_id, records=records, last_step=last)

    def reap(self) -> None:
        """Mark interrupted the active sessions whose worker on this host has died."""
        for record in self.store.list_sessions():
            if record.status in ACTIVE and self._lost(record):
                self.store.mark_interrupted_if_silent(record.id, math.inf)

    # Running --------------------------------------------------------------------------------

    def _launch(self, runner: _Runner) -> None:
        runner.session.on_progress = lambda record: self._on_progress(runner, record)
        runner.session.poll_control = lambda: self._poll(runner)
        runner.touched_at = runner.saved_at = time.monotonic()
        thread = threading.Thread(
            target=self._train, args=(runner,), name=f"training-{runner.session_id}", daemon=True
        )
        runner.thread = thread
        with self._lock:
            self._runners[runner.session_id] = runner
        thread.start()

    def _train(self, runner: _Runner) -> None:
        try:
            status = runner.session.run()
            self._checkpoint(runner, status)
        except _ShutdownError:
            self._checkpoint(runner, "interrupted")
        except _LostError:
            logger.warning("session %s is trained by another worker now", runner.session_id)
        except Exception as error:  # a bug must not leave the session "running" forever
            logger.exception("training session %s crashed", runner.session_id)
            runner.session.status = "failed"
            runner.session.error = f"{type(error).__name__}: {error}"
            self._checkpoint(runner, "failed")
        finally:
            with self._lock:
                self._runners.pop(runner.session_id, None)

    def _poll(self, runner: _Runner) -> str:
        """The session's `poll_control` hook: the control from the store, and bookkeeping."""
        if runner.interrupt.is_set():
            raise _ShutdownError
        now = time.monotonic()
        if runner.control == "run" and now - runner.polled_at < CONTROL_POLL_SECONDS:
            return "run"
        runner.polled_at = now
        try:
            control = self.store.take_control(runner.session_id)
        except NotFoundError:
            return "stop"
        session = runner.session
        heartbeat_due = now - runner.touched_at >= self.settings.heartbeat_seconds
        if heartbeat_due:
            self._check_ownership(runner, control)
        if control == "pause":
            if session.step_count != runner.saved_step:
                self._checkpoint(runner, "paused")
            elif runner.control != "pause" or heartbeat_due:
                self._touch(runner, "paused")
        elif control in ("run", "step"):
            if now - runner.saved_at >= self.settings.snapshot_seconds:
                self._checkpoint(runner, "running")
            elif runner.control == "pause" or heartbeat_due:
                self._touch(runner, "running")
        runner.control = control
        return control

    def _check_ownership(self, runner: _Runner, control: str) -> None:
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

    def _touch(self, runner: _Runner, status: str) -> None:
        """The heartbeat: status and step in the row, `updated_at` renewed."""
        step = runner.session.step_count
        self.store.update_session(runner.session_id, status=status, step=step)
        runner.touched_at = time.monotonic()

    def _on_progress(self, runner: _Runner, record: dict[str, Any]) -> None:
        clean = finite(record)
        self.store.append_history(runner.session_id, [clean])
        self.store.update_session(runner.session_id, step=int(record["step"]), latest=clean)
        runner.touched_at = time.monotonic()

    def _checkpoint(self, runner: _Runner, status: str) -> None:
        """Save the model's weights and the snapshot, then the row (so the row never points
        past what is saved). A deleted model's session keeps no snapshot."""
        session = runner.session
        try:
            weights = weights_io.save(session.model, session.net.params)
            self.store.write_weights(runner.model_id, weights)
        except NotFoundError:
            logger.info(
                "model %s was deleted during session %s", runner.model_id, runner.session_id
            )
        else:
            snapshot = session.snapshot()
            metadata = {"meta": json.dumps(snapshot.meta)}
            arrays = {k: np.ascontiguousarray(v) for k, v in snapshot.arrays.items()}
            blob = save_safetensors(arrays, metadata)
            self.store.write_blob(_snapshot_key(runner.session_id), blob)
        self.store.update_session(
            runner.session_id,
            status=status,
            step=session.step_count,
            latest=finite(session.latest),
            error=session.error,
        )
        runner.saved_step = session.step_count
        runner.saved_at = runner.touched_at = time.monotonic()

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


def _metadata(blob: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors file (the header is 8 bytes of length, then JSON)."""
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    return dict(header.get("__metadata__", {}))


def _info(record: SessionRecord) -> SessionInfo:
    return SessionInfo(
        id=record.id,
        model_id=record.model_id,
        status=record.status,
        control=record.control,
        step=record.step,
        steps=record.total_steps,
        resumable=record.status == "interrupted",
        worker=record.owner,
        created_at=record.created_at,
        updated_at=record.updated_at,
        training=record.config,
        latest=record.latest,
        error=record.error,
    )
