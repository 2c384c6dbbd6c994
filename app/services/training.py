"""Training sessions that any worker can start, steer and read, through the store.

A session trains in a trainer (a local trainer process or a Ray actor: `app.services.trainers`),
never in the web worker that started (or resumed) it. Every worker sees every session through the
store: its row (status, control, step, the latest record, its trainer's heartbeat), its history
and its snapshot. A session whose trainer died without checkpointing it is recognised (its process
is gone, or its row fell silent for `stale_seconds`) and reported "interrupted"; `resume`
continues an interrupted session from its snapshot, bit for bit.
"""

import contextlib
import dataclasses
import math
import os
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from app.rnn import ModelConfig
from app.rnn import weights as weights_io
from app.rnn.arrays import Array
from app.services.errors import ConflictError, InputError, LimitError
from app.services.limits import Limits
from app.services.liveness import owner_alive, process_identity
from app.services.runner import NotSavedError, Runner, SessionRunners, read_snapshot
from app.services.tasks import TaskService
from app.services.trainers import open_trainers
from app.settings import Settings
from app.store import (
    ACTIVE,
    ENDED,
    FINAL,
    SessionRecord,
    SessionStatus,
    StorageError,
    Store,
    new_id,
)
from app.training import TrainingConfig, TrainingSession

__all__ = ["ACTIVE", "ENDED", "FINAL", "SessionStatus", "TrainingService"]

Action = Literal["pause", "resume", "step", "stop"]

# How long a control command waits for the session's worker to act on it.
ACK_SECONDS = 3.0
# Fields whose null means "the task's default"; for clip, truncate, early_stop and
# validation_fraction null means "none".
_DEFAULTED = ("optimizer", "lr", "batch_size", "steps", "report_every", "seed")


class TrainingService:
    def __init__(
        self, store: Store, settings: Settings, limits: Limits, tasks: TaskService
    ) -> None:
        self.store = store
        self.settings = settings
        self.limits = limits
        self.tasks = tasks
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        identity = process_identity(os.getpid())
        if identity is not None:
            self.owner += f":{identity}"
        self.runners = SessionRunners(store, settings, self.owner)  # saves first snapshots
        self.trainers = open_trainers(store, settings, self.owner)
        # sessions whose row names this worker while their trainer is being started: alive
        self._launching: set[str] = set()

    # Starting -------------------------------------------------------------------------------

    def start(
        self,
        model_id: str,
        fields: Mapping[str, Any],
        data: tuple[Array, Array] | None = None,
        start_paused: bool = False,
    ) -> SessionRecord:
        """Train the model on a task or on `data` (inputs (N, T, D) or (T, D), targets as for
        backward with the leading N). `fields` are TrainingConfig fields as the client gave
        them (a None among _DEFAULTED takes the task's default). Checks every size against the
        limits, builds the session, claims a place and starts training."""
        record = self.store.get_model(model_id)
        self.reap()
        # A cheap refusal before the data is built; the insert below re-checks atomically.
        active = self.store.count_active_sessions(time.time() - self.settings.stale_seconds)
        if active >= self.settings.max_sessions:
            raise self._full(active)
        self._check_quota(record.owner_id)
        config = ModelConfig.from_dict(record.config)
        training = self._training_config(fields, data is not None, config)
        inputs, targets = self._data(data, config)
        _, params = weights_io.load(self.store.read_weights(model_id))
        session = TrainingSession(
            training,
            config,
            params=params,
            inputs=inputs,
            targets=targets,
            max_batch_elements=self.settings.max_elements,
            task_limits=self.limits.task_limits,
        )
        self._check_metric(training, session)
        now = time.time()
        control = "pause" if start_paused else "run"
        status = "paused" if start_paused else "running"
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
            owner_id=record.owner_id,  # a session belongs to its model's owner
        )
        active = self.store.create_session_if_room(
            session_record, self.settings.max_sessions, now - self.settings.stale_seconds
        )
        if active >= self.settings.max_sessions:
            raise self._full(active)
        runner = Runner(session_record.id, model_id, session, control=control)
        try:
            self.runners.checkpoint(runner, status)
        except NotSavedError as error:  # the row says "failed" and why; the answer 507 or 503
            raise error.cause from None
        self._launch(session_record.id, model_id, control)
        return self.status(session_record.id)

    @staticmethod
    def _check_metric(training: TrainingConfig, session: TrainingSession) -> None:
        """An early stop on a metric this session never reports would never stop it."""
        if training.early_stop is None:
            return
        known = sorted(session.evaluate())
        if training.early_stop.metric not in known:
            raise InputError(
                "early_stop.metric",
                f"early_stop.metric: {training.early_stop.metric!r} is not a metric this "
                f"session reports; known: {', '.join(known)}",
            )

    def _training_config(
        self, fields: Mapping[str, Any], has_data: bool, config: ModelConfig
    ) -> TrainingConfig:
        given = {
            name: value
            for name, value in fields.items()
            if not (name in _DEFAULTED and value is None)
        }
        values: dict[str, Any] = {}
        task_name = given.get("task")
        if task_name is not None:
            task = self.tasks.get(task_name, field="task")
            if has_data:
                raise InputError("data", "give either a task or data, not both")
            values.update(task.default_training)
        elif not has_data:
            raise InputError("task", "training needs a task (GET /api/v1/tasks) or data")
        values.update(given)
        training = TrainingConfig.from_dict(values)
        self.limits.check(
            "steps", "the number of training steps", "max_training_steps", training.steps
        )
        self.limits.check("batch_size", "the batch size B", "max_batch", training.batch_size)
        every = training.report_every
        self.limits.check("report_every", "the report interval", "max_training_steps", every)
        if training.truncate is not None:
            self.limits.check("truncate", "the BPTT length", "max_steps", training.truncate)
        if training.task is not None:
            task = self.tasks.get(training.task)
            self.tasks.check_params(task, training.task_params, "task_params")
            task.check_config(config, training.task_params)
            limits = self.limits.task_limits
            example = task.sample(training.seed, 1, limits=limits, **training.task_params)
            T = int(example.inputs.shape[1])
            self.limits.data(config, training.batch_size, T, field="task_params")
        return training

    def _data(
        self, data: tuple[Array, Array] | None, config: ModelConfig
    ) -> tuple[Array | None, Array | None]:
        if data is None:
            return None, None
        X, targets = data
        N, T = (1, X.shape[0]) if X.ndim == 2 else X.shape[:2]
        self.limits.check("data.inputs", "the number of steps T", "max_steps", T)
        width = config.input_size + config.num_layers * config.gates * config.hidden_size
        self.limits.check("data.inputs", "the size N·T·(D + L·G·H)", "max_elements", N * T * width)
        if config.loss == "cross_entropy" and np.array_equal(targets, np.round(targets)):
            return X, targets.astype(np.int64)
        return X, targets

    def _check_quota(self, owner_id: str) -> None:
        """One owner's share of the trainers: at most quota_sessions running or paused (the
        sessions of the instructor's and nobody's models are not counted)."""
        if not owner_id:
            return
        alive_after = time.time() - self.settings.stale_seconds
        active = self.store.count_active_sessions(alive_after, owner_id)
        if active >= self.settings.quota_sessions:
            raise LimitError(
                "sessions", "the number of your sessions running or paused", "quota_sessions",
                self.settings.quota_sessions, active + 1, 429, retry_after=10,
                hint="; stop one of them, or wait for one to end",
            )  # fmt: skip

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

    def control(self, session_id: str, action: Action) -> SessionRecord:
        """pause | resume | step | stop, from any worker; waits briefly for the session's
        worker to act on it so the answer shows the new state."""
        record = self.status(session_id)
        if record.status in FINAL:
            raise ConflictError(
                f"session {session_id!r} is {record.status} at step {record.step}; "
                "it cannot be paused, resumed, stepped or stopped"
            )
        if record.status == "interrupted":
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
            self.trainers.nudge(session_id)
        return self._await_ack(session_id, action, record.step)

    def _await_ack(self, session_id: str, action: Action, step_before: int) -> SessionRecord:
        deadline = time.monotonic() + ACK_SECONDS
        while True:
            record = self.status(session_id)
            done = {
                "pause": record.status == "paused",
                "resume": record.status == "running" or record.status in FINAL,
                "step": (record.step > step_before and record.status == "paused")
                or record.status in FINAL,
                "stop": record.status in FINAL,
            }[action]
            if done or record.status == "interrupted" or time.monotonic() > deadline:
                return record
            time.sleep(0.02)

    def _adopt(self, session_id: str, control: str) -> None:
        """Resume an interrupted session from its last snapshot in a new trainer."""
        snapshot = read_snapshot(self.store, session_id)
        if snapshot is None:
            raise ConflictError(f"session {session_id!r} has no snapshot to resume from")
        session = TrainingSession.from_snapshot(
            snapshot,
            max_batch_elements=self.settings.max_elements,
            task_limits=self.limits.task_limits,
        )
        record = self.store.get_session(session_id)
        self.reap()
        now = time.time()
        active = self.store.count_active_sessions(now - self.settings.stale_seconds)
        if active >= self.settings.max_sessions:
            raise self._full(active)
        self._launching.add(session_id)  # a status() read meanwhile must not interrupt it
        try:
            if not self.store.claim_session(session_id, self.owner, ("interrupted",), control):
                raise ConflictError(f"session {session_id!r} was resumed by another worker")
            self.store.truncate_history(session_id, session.step_count)
            self._launch(session_id, record.model_id, control)
        finally:
            self._launching.discard(session_id)

    def _launch(self, session_id: str, model_id: str, control: str) -> None:
        """Hand the session to a trainer; one that cannot be started leaves it interrupted
        (resumable from its snapshot) and answers 503 with the cause."""
        try:
            self.trainers.launch(session_id, model_id, control)
        except Exception as error:
            cause = f"no trainer could be started: {type(error).__name__}: {error}"
            with contextlib.suppress(StorageError):
                self.store.update_session(session_id, status="interrupted", error=cause)
            raise ConflictError(f"session {session_id!r}: {cause}", status_code=503) from error

    # Reading --------------------------------------------------------------------------------

    def status(self, session_id: str) -> SessionRecord:
        """The session's row, "interrupted" if its worker is gone."""
        record = self.store.get_session(session_id)
        if record.status in ACTIVE and self._lost(record):
            try:
                self.store.mark_interrupted_if_silent(session_id, math.inf)
            except StorageError:  # a read-only store: say so without writing it down
                return dataclasses.replace(record, status="interrupted")
            record = self.store.get_session(session_id)
        return record

    def _lost(self, record: SessionRecord) -> bool:
        """Whether an active session's trainer is gone."""
        if record.owner == self.owner:  # launched here, not yet claimed by its trainer
            return record.id not in self._launching and not self.trainers.is_running(record.id)
        alive = owner_alive(record.owner)
        if alive is not None:
            return not alive
        return record.updated_at < time.time() - self.settings.stale_seconds

    def describe_metrics(self, record: SessionRecord) -> dict[str, Any]:
        """The session's task's metric descriptions for its task_params ({} without a task)."""
        task_name = record.config.get("task")
        if task_name is None:
            return {}
        return self.tasks.describe_metrics(task_name, record.config.get("task_params") or {})

    def list_all(self, model_id: str | None = None) -> list[SessionRecord]:
        return [self.status(record.id) for record in self.store.list_sessions(model_id)]

    def history(self, session_id: str, after_step: int, limit: int) -> list[dict[str, Any]]:
        """Progress records after `after_step`, step ascending, at most `limit`."""
        self.store.get_session(session_id)
        return self.store.history(session_id, after_step, limit)

    def reap(self) -> None:
        """Mark interrupted the active sessions whose worker on this host has died."""
        for record in self.store.list_sessions():
            if record.status in ACTIVE and self._lost(record):
                with contextlib.suppress(StorageError):  # read-only: each status() says so
                    self.store.mark_interrupted_if_silent(record.id, math.inf)

    def shutdown(self) -> None:
        """Checkpoint every session this worker's trainer processes train as interrupted."""
        self.trainers.shutdown()
