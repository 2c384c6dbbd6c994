"""Training config: bounds named in every error, task defaults, JSON round trip."""

import pytest

from app.rnn import RNNError
from app.training import EarlyStop, TrainingConfig, TrainingError


def test_training_error_is_a_value_error() -> None:
    assert issubclass(TrainingError, RNNError) and issubclass(TrainingError, ValueError)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, momentum, adagrad, rmsprop, adam"),
        ({"lr": 0}, r"lr must lie in \(0, 100\], got 0"),
        ({"lr": float("nan")}, r"lr must lie in \(0, 100\]"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"batch_size": 2.0}, "batch_size must be an integer"),
        ({"steps": 0}, "steps must be at least 1"),
        ({"steps": True}, "steps must be an integer"),
        ({"clip": -1.0}, r"clip must lie in \(0, 1e\+06\]"),
        ({"truncate": 0}, "truncate must be at least 1"),
        ({"report_every": 0}, "report_every must be at least 1"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"validation_fraction": 0.95}, r"validation_fraction must lie in \[0, 0.9\]"),
        ({"task_params": [1]}, "task_params must be an object"),
        ({"colour": "red"}, r"unknown training field\(s\): colour"),
        ({"early_stop": {"metric": "accuracy"}}, "early_stop must be {metric, target, mode"),
        ({"early_stop": {"metric": "a", "target": 1, "mode": "up"}}, "mode must be 'max' or"),
        ({"early_stop": 3}, "early_stop must be"),
        ({"early_stop": {"metric": "mse", "target": float("inf")}}, "must be a finite number"),
        ({"weight_decay": -0.01}, r"weight_decay must lie in \[0, 1\], got -0.01"),
        ({"weight_decay": "lots"}, "weight_decay must be a number"),
        ({"schedule": {"step_size": 3}}, "schedule must be {name"),
        ({"schedule": "cosine"}, "schedule must be {name"),
        ({"schedule": {"name": "cyclic"}}, "schedule.name must be one of step, cosine"),
        ({"schedule": {"name": "step", "step_size": 2, "gamma": 0}}, r"schedule.gamma .*\(0, 1\]"),
        ({"schedule": {"name": "step", "step_size": 0}}, "schedule.step_size must lie in"),
        ({"schedule": {"name": "cosine", "t_max": 0}}, "schedule.t_max must lie in"),
        ({"schedule": {"name": "cosine", "t_max": 4, "step_size": 2}}, "unknown: step_size"),
    ],
)
def test_bad_fields_are_named_with_their_bounds(fields: dict, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        TrainingConfig.from_dict(fields)


def test_for_task_takes_the_tasks_defaults_and_overrides() -> None:
    config = TrainingConfig.for_task("sine", {"length": 20}, steps=7)
    assert config.task == "sine" and config.task_params == {"length": 20}
    assert config.steps == 7 and config.clip == 1.0 and config.optimizer == "adam"
    assert config.early_stop == EarlyStop("relative_mse", 0.002, "min")
    with pytest.raises(TrainingError, match="unknown task 'chess'"):
        TrainingConfig.for_task("chess")


def test_round_trips_through_a_dict() -> None:
    config = TrainingConfig.for_task("copy", {"length": 5}, truncate=10)
    assert TrainingConfig.from_dict(config.to_dict()) == config
    scheduled = TrainingConfig.for_task(
        "copy", weight_decay=0.1, schedule={"name": "cosine", "t_max": 50}
    )
    assert scheduled.schedule == {"name": "cosine", "t_max": 50, "eta_min": 0.0}
    assert TrainingConfig.from_dict(scheduled.to_dict()) == scheduled


def test_early_stop_reached_in_both_directions() -> None:
    assert EarlyStop("accuracy", 0.9).reached({"accuracy": 0.95})
    assert not EarlyStop("accuracy", 0.9).reached({"accuracy": 0.5})
    assert EarlyStop("mse", 0.1, "min").reached({"mse": 0.05})
    assert not EarlyStop("mse", 0.1, "min").reached({"other": 0.05})
