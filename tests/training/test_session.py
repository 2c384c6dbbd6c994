"""Training sessions: step, run, pause/resume/stop, reports, reproducibility, exact resume."""

import threading
from typing import Any

import numpy as np
import pytest

from app.rnn import ModelConfig, NumericalError
from app.tasks import TASKS
from app.training import TrainingConfig, TrainingError, TrainingSession
from tests.waiting import stays, wait_until

SMALL_SINE = {"length": 10, "frequency": 0.1}


def sine_session(steps: int = 20, **overrides: Any) -> TrainingSession:
    config = TrainingConfig.for_task(
        "sine", SMALL_SINE, steps=steps, report_every=5, early_stop=None, **overrides
    )
    model = {**TASKS["sine"].model_config(SMALL_SINE), "hidden_size": 8}
    return TrainingSession(config, model)


def char_session(
    steps: int, options: dict[str, Any] | None = None, **params: Any
) -> TrainingSession:
    """A small char_lm session: task `params`, training `options`."""
    text = "".join(f"line {i % 7} of a small text; " for i in range(60))
    task_params = {"text": text, "seq_len": 8, **params}
    config = TrainingConfig.for_task(
        "char_lm", task_params, steps=steps, report_every=4, **(options or {})
    )
    model = {**TASKS["char_lm"].model_config(task_params), "hidden_size": 12, "cell": "lstm"}
    return TrainingSession({**config.to_dict(), "batch_size": 4}, model)


def params_of(session: TrainingSession) -> dict[str, np.ndarray]:
    return {name: value.copy() for name, value in session.net.params.items()}


def assert_same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_step_makes_one_update_and_reports_when_due() -> None:
    records: list[dict] = []
    session = sine_session()
    session.on_progress = records.append
    before = params_of(session)
    info = session.step()
    assert info["step"] == 1 and np.isfinite(info["loss"]) and info["grad_norm"] > 0
    assert session.status == "paused" and session.step_count == 1
    assert any(not np.array_equal(before[k], session.net.params[k]) for k in before)
    for _ in range(4):
        session.step()
    assert [r["step"] for r in records] == [5]
    record = records[0]
    assert record["metrics"]["relative_mse"] > 0
    assert set(record["grad_norms"]) == set(session.net.params)
    assert len(record["dH_norm"]) == 10  # ‖dL/dH_t‖ of the latest batch, one per step
    assert record["elapsed"] > 0 and record["loss"] > 0


def test_a_report_gives_the_gradient_that_reaches_each_layer_and_the_history_keeps_it() -> None:
    config = TrainingConfig.for_task("spiral", {}, steps=4, report_every=2, early_stop=None)
    model = {**TASKS["spiral"].model_config({}), "hidden_size": 6, "num_layers": 3}
    session = TrainingSession(config, model)
    records: list[dict] = []
    session.on_progress = records.append
    session.run()
    for record in records:
        # ‖dW_xh‖ of layers 0, 1, 2, bottom first: the per-parameter norms of the same batch
        wanted = [record["grad_norms"][f"layer{k}.W_xh"] for k in range(3)]
        assert record["layer_grad_norms"] == wanted and all(n > 0 for n in wanted)
    assert [r["layer_grad_norms"] for r in session.progress.history] == [
        r["layer_grad_norms"] for r in records
    ]


def test_run_goes_to_the_step_budget_and_reports_every_k_steps() -> None:
    records: list[dict] = []
    session = sine_session(steps=12)
    session.on_progress = records.append
    assert session.run() == "finished"
    assert [r["step"] for r in records] == [5, 10, 12]
    assert records[-1]["status"] == "finished"
    assert [h["step"] for h in session.history] == [5, 10, 12]
    with pytest.raises(TrainingError, match="finished at step 12 of 12; nothing left"):
        session.step()


def test_two_runs_with_the_same_seed_are_equal_bit_for_bit() -> None:
    first, second = sine_session(steps=15), sine_session(steps=15)
    first.run()
    second.run()
    assert_same_params(params_of(first), params_of(second))
    assert [h["loss"] for h in first.history] == [h["loss"] for h in second.history]
    other = sine_session(steps=15, seed=1)
    other.run()
    assert not np.array_equal(other.net.params["W_hq"], first.net.params["W_hq"])


SCHEDULED = {
    "optimizer": "adamw",
    "weight_decay": 0.05,
    "schedule": {"name": "step", "step_size": 3, "gamma": 0.5},
}


@pytest.mark.parametrize(
    ("sampling", "options"), [("random", {}), ("sequential", {}), ("random", SCHEDULED)]
)
def test_resuming_a_snapshot_equals_the_uninterrupted_run(sampling: str, options: dict) -> None:
    straight = char_session(12, options, sampling=sampling)
    straight.run()
    interrupted = char_session(12, options, sampling=sampling)
    for _ in range(7):
        interrupted.step()
    snapshot = interrupted.snapshot()
    del interrupted
    resumed = TrainingSession.from_snapshot(snapshot)
    assert resumed.step_count == 7 and resumed.status == "paused"
    # two decays of ½ in 7 updates with step_size 3
    assert resumed.optimizer.lr == resumed.training.lr * (0.25 if options else 1.0)
    assert resumed.run() == "finished"
    assert_same_params(params_of(straight), params_of(resumed))

    def without_times(history: list[dict]) -> list[tuple]:
        return [(h["step"], h["loss"], h["grad_norm"], h["metrics"]) for h in history]

    assert without_times(straight.history) == without_times(resumed.history)


def test_sequential_sampling_carries_the_state_across_batches() -> None:
    session = char_session(3, sampling="sequential")
    assert session.data.carries_state
    session.step()
    H_after_first = session._H.copy()
    assert H_after_first.shape == (1, 4, 12) and np.abs(H_after_first).sum() > 0
    assert session.snapshot().arrays["state.C"].shape == (1, 4, 12)


def test_snapshot_is_json_meta_and_arrays() -> None:
    import json

    session = sine_session(steps=6)
    session.step()
    snapshot = session.snapshot()
    json.dumps(snapshot.meta)
    assert {"param.W_hq", "optimizer.steps", "optimizer.W_hq.m"} <= set(snapshot.arrays)
    with pytest.raises(TrainingError, match="unsupported snapshot version"):
        TrainingSession.from_snapshot(type(snapshot)(snapshot.arrays, {"version": 99}))


def test_early_stop_ends_the_run_when_the_metric_reaches_its_target() -> None:
    config = TrainingConfig.for_task(
        "sine",
        SMALL_SINE,
        steps=500,
        report_every=10,
        early_stop={"metric": "relative_mse", "target": 0.5, "mode": "min"},
    )
    session = TrainingSession(config)
    assert session.run() == "early_stopped"
    assert session.step_count < 500 and session.step_count % 10 == 0
    assert session.latest is not None and session.latest["metrics"]["relative_mse"] <= 0.5
    assert session.done


def test_poll_control_pauses_steps_and_stops() -> None:
    commands = iter(["pause", "pause", "step", "pause", "run", "run", "stop"])
    seen: list[str] = []

    def control() -> str:
        command = next(commands)
        seen.append(command)
        return command

    records: list[dict] = []
    session = sine_session(steps=100)
    session.poll_control, session.on_progress = control, records.append
    session.pause_poll_seconds = 0.001
    assert session.run() == "stopped"
    assert session.step_count == 3  # one "step" and two "run"
    assert records[-1]["status"] == "stopped" and records[-1]["step"] == 3
    with pytest.raises(TrainingError, match="stopped at step 3"):
        session.step()


def test_an_unknown_control_command_is_rejected() -> None:
    session = sine_session()
    session.poll_control = lambda: "faster"
    with pytest.raises(TrainingError, match="poll_control returned 'faster'"):
        session.run()


def test_pause_resume_and_stop_from_another_thread_cancel_a_long_run() -> None:
    session = sine_session(steps=1_000_000)
    session.pause_poll_seconds = 0.001
    worker = threading.Thread(target=session.run)
    worker.start()
    wait_until(lambda: session.step_count >= 3, 10, "the run never started")
    session.pause()
    wait_until(lambda: session.status == "paused", 10, "the run never paused")
    paused_at = session.step_count
    stays(lambda: session.step_count == paused_at, 0.1, "a paused run made a step")
    session.resume()
    wait_until(lambda: session.step_count >= paused_at + 3, 10, "the run never resumed")
    session.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert session.status == "stopped" and session.step_count < 1_000_000
    assert session.latest is not None and session.latest["status"] == "stopped"


def test_stopping_a_session_that_is_not_running_marks_it_at_once() -> None:
    session = sine_session()
    session.step()
    session.stop()
    assert session.status == "stopped" and session.done
    assert session.run() == "stopped"


def test_an_overflow_fails_the_session_with_the_engines_message() -> None:
    config = TrainingConfig.for_task(
        "sine", SMALL_SINE, steps=50, lr=100.0, optimizer="sgd", clip=None, early_stop=None
    )
    model = {**TASKS["sine"].model_config(SMALL_SINE), "nonlinearity": "relu", "init": "normal"}
    records: list[dict] = []
    session = TrainingSession(config, {**model, "init_std": 3.0}, on_progress=records.append)
    assert session.run() == "failed"
    assert session.error is not None and "overflowed" in session.error
    assert records[-1]["status"] == "failed"
    with pytest.raises(TrainingError, match="failed"):
        session.step()


def test_the_model_must_fit_the_task() -> None:
    with pytest.raises(ValueError, match="needs input_size = 1, the model has 2"):
        TrainingSession(
            TrainingConfig.for_task("sine"),
            ModelConfig(input_size=2, hidden_size=4, output_size=1, output_mode="last"),
        )
    with pytest.raises(TrainingError, match="unknown task 'chess'"):
        TrainingSession({"task": "chess"})


def test_training_on_explicit_arrays() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5, 2))
    y = X.sum(axis=(1, 2))[:, None]
    model = ModelConfig(input_size=2, hidden_size=8, output_size=1, output_mode="last")
    config = {"steps": 30, "report_every": 10, "lr": 0.02, "validation_fraction": 0.25}
    session = TrainingSession(config, model, inputs=X, targets=y)
    first = session.evaluate()["mse"]
    assert session.run() == "finished"
    assert session.latest["metrics"]["mse"] < first
    assert "train_mse" in session.latest["metrics"]
    resumed = TrainingSession.from_snapshot(session.snapshot())
    np.testing.assert_array_equal(resumed.data.X_train, session.data.X_train)


def test_explicit_arrays_are_checked_against_the_model() -> None:
    model = ModelConfig(input_size=2, hidden_size=4, output_size=1, output_mode="last")
    with pytest.raises(ValueError, match="targets have shape"):
        TrainingSession({"steps": 1}, model, inputs=np.zeros((3, 4, 2)), targets=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="inputs contain NaN"):
        TrainingSession(
            {"steps": 1}, model, inputs=np.full((3, 4, 2), np.nan), targets=np.zeros((3, 1))
        )
    with pytest.raises(TrainingError, match="a model config is needed"):
        TrainingSession({"steps": 1}, inputs=np.zeros((3, 4, 2)), targets=np.zeros((3, 1)))


def test_nan_free_engine_errors_are_value_errors() -> None:
    assert issubclass(NumericalError, ValueError)


def test_a_batch_too_large_for_memory_is_refused_naming_the_bound() -> None:
    config = TrainingConfig.for_task("char_lm", {"seq_len": 512}, batch_size=1024)
    with pytest.raises(
        TrainingError, match=r"batch_size 1024 × 512 steps × 384 .* at most 2000000"
    ):
        TrainingSession(config, max_batch_elements=2_000_000)
    TrainingSession(config, max_batch_elements=1024 * 512 * 384)  # the service may allow more


def test_sessions_in_parallel_threads_match_the_same_sessions_run_alone() -> None:
    alone = [sine_session(steps=30, seed=seed) for seed in (0, 1, 2)]
    for session in alone:
        session.run()
    together = [sine_session(steps=30, seed=seed) for seed in (0, 1, 2)]
    workers = [threading.Thread(target=session.run) for session in together]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for by_itself, in_parallel in zip(alone, together, strict=True):
        assert in_parallel.status == "finished"
        assert_same_params(params_of(by_itself), params_of(in_parallel))


def test_truncated_bptt_stops_the_gradient_at_the_chunk_boundary() -> None:
    records: list[dict] = []
    session = sine_session(steps=1, truncate=5)
    session.on_progress = records.append
    session.step()
    profile = np.array(records[-1]["dH_norm"])  # T = 10, one output after the last step
    assert (profile[:5] == 0).all() and (profile[5:] > 0).all()
    full = sine_session(steps=1)
    full.on_progress = records.append
    full.step()
    assert (np.array(records[-1]["dH_norm"]) > 0).all()


@pytest.mark.parametrize("task", list(TASKS))
def test_every_tasks_progress_records_and_snapshot_are_strict_json(task: str) -> None:
    import json

    records: list[dict] = []
    config = TrainingConfig.for_task(task, steps=2, report_every=1, batch_size=4)
    session = TrainingSession(config, on_progress=records.append)
    assert session.run() in ("finished", "early_stopped")
    assert [r["step"] for r in records] == list(range(1, len(records) + 1))
    json.dumps(records, allow_nan=False)
    json.dumps(session.snapshot().meta, allow_nan=False)
    json.dumps(session.latest, allow_nan=False)


def history_without_times(session: TrainingSession) -> list[tuple]:
    return [(h["step"], h["loss"], h["grad_norm"], h["metrics"]) for h in session.history]


@pytest.mark.parametrize("sampling", ["random", "sequential"])
def test_updates_that_give_way_part_way_change_nothing(sampling: str) -> None:
    straight = char_session(12, sampling=sampling)
    straight.run()
    # seq_len 8: 8 checks in the forward pass of an update, then 8 in its backward pass
    calls = 0

    def give_way() -> bool:
        nonlocal calls
        calls += 1
        return calls in (20, 45, 46, 100)  # mid-forward, mid-backward, at once again, later

    interrupted = char_session(12, sampling=sampling)
    interrupted.give_way = give_way
    assert interrupted.run() == "finished"
    assert interrupted.given_way == 4
    assert interrupted.step_count == 12
    assert_same_params(params_of(straight), params_of(interrupted))
    assert history_without_times(straight) == history_without_times(interrupted)


def test_a_pause_mid_update_abandons_it_and_the_resumed_run_is_the_straight_one() -> None:
    straight = char_session(10, sampling="sequential")
    straight.run()
    session = char_session(10, sampling="sequential")
    session.pause_poll_seconds = 0.001
    inside, paused = threading.Event(), threading.Event()

    def give_way() -> bool:  # asked between timesteps: the first time, wait for the pause
        if session.step_count == 4 and not inside.is_set():
            inside.set()
            paused.wait(10)
        return False

    session.give_way = give_way
    worker = threading.Thread(target=session.run)
    worker.start()
    assert inside.wait(10), "the fifth update never began"
    session.pause()
    paused.set()
    wait_until(lambda: session.status == "paused", 10, "the run never paused")
    assert session.given_way == 1 and session.step_count == 4  # the fifth update was abandoned
    snapshot = session.snapshot()
    session.resume()
    worker.join(10)
    assert session.status == "finished"
    assert_same_params(params_of(straight), params_of(session))
    assert history_without_times(straight) == history_without_times(session)
    # and the snapshot taken while it was paused mid-update resumes to the same end
    resumed = TrainingSession.from_snapshot(snapshot)
    assert resumed.run() == "finished"
    assert_same_params(params_of(straight), params_of(resumed))
    assert history_without_times(straight) == history_without_times(resumed)


def test_a_pass_outside_a_cancellable_block_never_gives_way() -> None:
    session = char_session(3)
    session.give_way = lambda: True  # run() asks it; a plain step() does not
    session.step()
    assert session.step_count == 1 and session.given_way == 0
