"""A training session: one network, one optimiser, one task's data, stepped or run to the end.

The session is synchronous and knows nothing about the web: `step()` makes one update, `run()`
loops until the step budget, an early stop, a stop or a failure. Run it in a worker thread to
keep it off an event loop. Two hooks let a service drive it from any process: `on_progress(record)`
receives a JSON-able record every `report_every` steps, after an update asked for by "step", and
at the end (an ending record's "reason" says why it ended); `poll_control()` is asked
before every update and answers "run", "pause" (the loop sleeps and asks again), "stop", or "step"
(one update; the hook should answer "pause" next). In-process callers may instead use the
thread-safe `pause()`, `resume()` and `stop()`; a local pause or stop wins over the hook.
An update in flight in `run()` gives way part way (app.rnn.cancel) when a local pause or stop
comes, or when the cheap `give_way()` hook answers True (it is asked between timesteps): the
abandoned update changes nothing, and the loop asks its control again at once.

Everything needed to resume bit-for-bit is in `snapshot()`; `TrainingSession.from_snapshot`
rebuilds the session, and a resumed run continues exactly as the uninterrupted one would.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.rnn import ModelConfig, Network, RNNError, cancel, clip_grad_norm, global_norm
from app.rnn.arrays import Array
from app.tasks import SizeLimits
from app.training import setup, snapshots
from app.training.config import TrainingConfig, TrainingError
from app.training.progress import Progress, ProgressHook
from app.training.snapshots import Snapshot

logger = logging.getLogger(__name__)

ControlHook = Callable[[], str]
GiveWayHook = Callable[[], bool]

STATUSES = ("created", "running", "paused", "stopped", "finished", "early_stopped", "failed")


class TrainingSession:
    """Trains `Network(model)` on `training.task` (or on explicit `inputs`/`targets`).

    training: TrainingConfig or its dict (`TrainingConfig.for_task` fills in a task's defaults).
    model: ModelConfig or its dict; None takes the task's default for the given task_params.
    params: initial weights (our names), e.g. a stored model's; None draws them from model.seed.
    inputs / targets: the user's arrays, (N, T, D) and targets fitted to the model, instead of a
    task. max_batch_elements bounds B·T·max(D, G·H, Q) of one batch (TrainingError above it) and
    the numbers of the user's arrays; task_limits bound what the task builds (see
    `SizeLimits`). Both are the caller's (the service's settings); None leaves them unbounded.
    The training seed fixes the data split and the order of batches; the model seed the weights.

    Read by the service: `status` (one of STATUSES), `step_count`, `elapsed` (seconds spent in
    updates and evaluations), `error` (the message when failed), `reason` (why it ended, in
    words), `latest` (the last progress record, see app.training.progress), `history` (scalar
    records, thinned when long), `net`, `model`, `training`, `data`.
    """

    def __init__(
        self,
        training: TrainingConfig | Mapping[str, Any],
        model: ModelConfig | Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Array] | None = None,
        inputs: Array | None = None,
        targets: Array | None = None,
        on_progress: ProgressHook | None = None,
        poll_control: ControlHook | None = None,
        give_way: GiveWayHook | None = None,
        pause_poll_seconds: float = 0.05,
        max_batch_elements: int | None = None,
        task_limits: SizeLimits | None = None,
    ) -> None:
        self.training = _training_config(training)
        self.model = setup.model_config(self.training, model)
        setup.check_batch_size(self.training, self.model, inputs, max_batch_elements, task_limits)
        self.net = Network(self.model, None if params is None else dict(params))
        self.optimizer = self.training.build_optimizer()
        self.rng = np.random.default_rng(self.training.seed)
        self.data, self._user_arrays = setup.make_data(
            self.training, self.net, inputs, targets, max_batch_elements, task_limits
        )
        self.progress = Progress(on_progress)
        self.poll_control = poll_control
        self.give_way = give_way
        self.given_way = 0  # updates `run()` abandoned part way (and made again later)
        self.pause_poll_seconds = pause_poll_seconds
        self.step_count = 0
        self.status = "created"
        self.error: str | None = None
        self.reason: str | None = None  # why the session ended, in words
        self.elapsed = 0.0
        self._H: Array | None = None
        self._C: Array | None = None
        self._lock = threading.RLock()
        self._local_control = "run"

    # -- training -------------------------------------------------------------------------------

    @property
    def on_progress(self) -> ProgressHook | None:
        return self.progress.on_progress

    @on_progress.setter
    def on_progress(self, hook: ProgressHook | None) -> None:
        self.progress.on_progress = hook

    @property
    def latest(self) -> dict[str, Any] | None:
        """The last progress record (see app.training.progress)."""
        return self.progress.latest

    @property
    def history(self) -> list[dict[str, Any]]:
        """Scalar progress records, step ascending, thinned when long."""
        return self.progress.history

    @property
    def done(self) -> bool:
        return self.step_count >= self.training.steps or self.status in (
            "stopped",
            "early_stopped",
            "failed",
        )

    def step(self, report: bool = False, cancellable: bool = False) -> dict[str, Any]:
        """One update on one batch → {"step", "loss", "grad_norm"}; reports when one is due, or
        after this update when `report` (a single step asked for by hand shows its point).

        Raises TrainingError once the session is done, and RNNError (e.g. NumericalError on an
        overflow) from the engine, after marking the session failed and reporting it. With
        `cancellable`, the forward and backward passes ask `_should_give_way()` between
        timesteps and raise `cancel.Cancelled` when it says so, the update abandoned whole
        (weights, optimiser state, RNG, data position, step as before it began).
        """
        with self._lock:
            if self.done:
                raise TrainingError(
                    f"the session is {self.status} at step {self.step_count} of "
                    f"{self.training.steps}; nothing left to train"
                )
            if self.status == "created":
                self.status = "paused"  # stepped by hand: between updates it waits
            started = time.perf_counter()
            try:
                info = self._update(cancellable)
                self.elapsed += time.perf_counter() - started
                due = report or self.step_count % self.training.report_every == 0
                if due or self.step_count >= self.training.steps:
                    # Evaluation can overflow too (validation data the batches never held).
                    self._report(final=self.step_count >= self.training.steps)
            except cancel.Cancelled:
                self.elapsed += time.perf_counter() - started
                raise
            except RNNError as error:
                self.elapsed += time.perf_counter() - started
                self._fail(error)
                raise
            return info

    def _should_give_way(self) -> bool:
        """Whether an update in flight is to be abandoned: a local pause or stop, or the hook."""
        if self._local_control != "run":
            return True
        return self.give_way is not None and self.give_way()

    def _update(self, cancellable: bool = False) -> dict[str, Any]:
        cfg = self.training
        # Nothing but the RNG and the data's position changes before the backward pass ends:
        # an update abandoned there puts them back, and the session is as before it began.
        rng_state = self.rng.bit_generator.state if cancellable else {}
        data_state = self.data.state_dict() if cancellable else {}
        try:
            with cancel.cancellable(self._should_give_way if cancellable else None):
                batch = self.data.batch(self.rng, cfg.batch_size)
                H0, C0 = None, None
                if self.data.carries_state and not batch.meta.get("reset_state"):
                    H0, C0 = self._H, self._C
                trace = self.net.forward(batch.inputs, H0, C0)
                cancel.check()
                result = self.net.backward(trace, batch.targets, cfg.truncate, step_grads="none")
        except cancel.Cancelled:
            self.rng.bit_generator.state = rng_state
            self.data.load_state_dict(data_state)
            raise
        grads = result.grads
        grad_norms = {name: float(np.linalg.norm(g)) for name, g in grads.items()}
        grad_norm = clip_grad_norm(grads, cfg.clip) if cfg.clip is not None else global_norm(grads)
        self.optimizer.step(self.net.params, grads)
        if self.data.carries_state:
            # Carried forward as plain values: the next batch's gradient stops here.
            H_T, C_T = trace.final_state
            self._H, self._C = H_T.copy(), None if C_T is None else C_T.copy()
        self.step_count += 1
        self.progress.add_batch(result.loss, grad_norm, grad_norms, result.grad_norm_per_step[-1])
        return {"step": self.step_count, "loss": result.loss, "grad_norm": grad_norm}

    def evaluate(self) -> dict[str, Any]:
        """The task metrics of the current network (on validation data where there is some)."""
        with self._lock:
            return self.data.evaluate(self.net)

    def _report(self, final: bool = False) -> None:
        metrics = self.data.evaluate(self.net)
        if self.status not in ("stopped", "failed"):
            early = self.training.early_stop
            if final:
                self.status = "finished"
                self.reason = f"finished all {self.training.steps} steps"
            elif early is not None and early.reached(metrics):
                self.status = "early_stopped"
                validates = getattr(self.data, "validates", True)  # False: scored on training data
                self.reason = early.reason(metrics, self.step_count, validates)
        elif self.status == "stopped":
            self.reason = f"stopped by request at step {self.step_count}"
        self.progress.report(
            self.step_count, self.training.steps, self.status, metrics, self.elapsed, self.reason
        )

    def _fail(self, error: Exception) -> None:
        self.status = "failed"
        self.error = str(error)
        self.reason = f"failed: {error}"
        logger.warning("training failed at step %d: %s", self.step_count, error)
        self.progress.fail(self.step_count, self.training.steps, self.error, self.elapsed)

    def pause(self) -> None:
        """Ask `run()` (in another thread) to wait before its next update."""
        self._local_control = "pause"

    def resume(self) -> None:
        """Undo `pause()`: `run()` goes on (unless `poll_control` says otherwise)."""
        self._local_control = "run"

    def stop(self) -> None:
        """Cancel: `run()` stops before its next update and reports the state reached.

        Safe from any thread; a session that is not running is marked stopped at once."""
        self._local_control = "stop"
        if self._lock.acquire(blocking=False):
            try:
                if self.status in ("created", "paused") and not self.done:
                    self.status = "stopped"
                    self._report()
            finally:
                self._lock.release()

    def _command(self) -> str:
        if self._local_control in ("stop", "pause"):
            return self._local_control
        return self.poll_control() if self.poll_control is not None else "run"

    def run(self) -> str:
        """Train until the step budget, an early stop, a stop or a failure → the final status.

        Before every update the local control (`pause()` / `stop()`) and then `poll_control` are
        asked; while paused the loop sleeps `pause_poll_seconds` between asks. A stop reports
        the state reached. Engine errors end the run with status "failed" (see `error`).
        """
        while not self.done:
            command = self._command()
            if command == "stop":
                with self._lock:
                    self.status = "stopped"
                    self._report()
                break
            if command == "pause":
                self.status = "paused"
                time.sleep(self.pause_poll_seconds)
                continue
            if command not in ("run", "step"):
                raise TrainingError(f"poll_control returned {command!r}; expected run/pause/stop")
            with self._lock:  # a stop() that landed since the check above is not overridden
                if self.done:
                    break
                self.status = "running" if command == "run" else "paused"
                try:
                    self.step(report=command == "step", cancellable=True)
                except cancel.Cancelled:
                    self.given_way += 1  # the next ask says what to do instead
                    continue
                except RNNError:
                    break
        return self.status

    # -- persistence ----------------------------------------------------------------------------

    @property
    def carried_state(self) -> tuple[Array | None, Array | None]:
        """(H, C) carried from one batch to the next (sequential data), else (None, None)."""
        return self._H, self._C

    @carried_state.setter
    def carried_state(self, state: tuple[Array | None, Array | None]) -> None:
        self._H, self._C = state

    @property
    def user_arrays(self) -> tuple[Array, Array] | None:
        """The user's (inputs, targets) this session trains on, or None for a task's data."""
        return self._user_arrays

    def snapshot(self) -> Snapshot:
        """Everything needed to resume exactly; arrays are copies, meta is JSON-able."""
        with self._lock:
            return snapshots.take(self)

    @classmethod
    def from_snapshot(
        cls,
        snapshot: Snapshot,
        *,
        on_progress: ProgressHook | None = None,
        poll_control: ControlHook | None = None,
        max_batch_elements: int | None = None,
        task_limits: SizeLimits | None = None,
    ) -> "TrainingSession":
        """The session exactly as it was when `snapshot()` was taken (status "paused" if it was
        running, so the service decides when to go on)."""
        snapshots.check_version(snapshot)
        meta, arrays = snapshot.meta, snapshot.arrays
        session = cls(
            TrainingConfig.from_dict(meta["training_config"]),
            ModelConfig.from_dict(meta["model_config"]),
            params=snapshots.params_of(snapshot),
            inputs=arrays.get("data.inputs"),
            targets=arrays.get("data.targets"),
            on_progress=on_progress,
            poll_control=poll_control,
            max_batch_elements=max_batch_elements,
            task_limits=task_limits,
        )
        snapshots.restore(session, snapshot)
        return session


def _training_config(training: TrainingConfig | Mapping[str, Any]) -> TrainingConfig:
    if isinstance(training, TrainingConfig):
        return training
    return TrainingConfig.from_dict(training)
