"""The training configuration: one validated dataclass, the API's fields.

It checks what every training needs (types, positive sizes, an optimiser that exists); the upper
bounds on a client's sizes (steps, batch size, BPTT length) are the service's settings, checked
there."""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from app.rnn import OPTIMISERS, Optimizer, RNNError, make_optimizer
from app.rnn.schedules import Schedule, make_schedule
from app.tasks import PRESETS, TASKS


class TrainingError(RNNError):
    """An invalid training configuration or an impossible request to a session."""


@dataclass(frozen=True)
class EarlyStop:
    """Stop when the reported `metric` reaches `target`: ≥ for mode "max", ≤ for mode "min"."""

    metric: str
    target: float
    mode: str = "max"

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise TrainingError(f"early_stop.metric must name a metric, got {self.metric!r}")
        if (
            isinstance(self.target, bool)
            or not isinstance(self.target, int | float)
            or not math.isfinite(self.target)
        ):
            raise TrainingError(f"early_stop.target must be a finite number, got {self.target!r}")
        if self.mode not in ("max", "min"):
            raise TrainingError(f"early_stop.mode must be 'max' or 'min', got {self.mode!r}")

    def reason(self, metrics: Mapping[str, Any], step: int, held_out: bool) -> str:
        """Why a session stopped early, in words: "validation accuracy reached 1 at step 150
        (target ≥ 0.99)"; `held_out` says whether the metrics are of validation data."""
        where = "validation" if held_out else "training"
        sign = "≥" if self.mode == "max" else "≤"
        value = metrics.get(self.metric)
        return (
            f"{where} {self.metric} reached {value:.4g} at step {step} "
            f"(target {sign} {self.target:g})"
        )

    def reached(self, metrics: Mapping[str, Any]) -> bool:
        value = metrics.get(self.metric)
        if not isinstance(value, int | float):
            return False
        return value >= self.target if self.mode == "max" else value <= self.target


@dataclass(frozen=True)
class TrainingConfig:
    """How a session trains.

    task: a name in app.tasks.TASKS, or None when the session is given explicit arrays.
    clip: max global gradient norm (None: no clipping). truncate: BPTT length k (None: full).
    validation_fraction: share of the data held out where the task has a finite data set
    (None: the task's default).
    weight_decay: PyTorch's weight_decay λ (L2 added to the gradient; AdamW's decoupled decay);
    None: the optimiser's PyTorch default (0.01 for AdamW, else 0).
    schedule: the learning-rate schedule stepped after every update, None for a constant rate:
    {"name": "step", "step_size", "gamma"} (StepLR) or {"name": "cosine", "t_max", "eta_min"}
    (CosineAnnealingLR); stored with its defaults filled in.
    """

    task: str | None = None
    task_params: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 32
    clip: float | None = None
    truncate: int | None = None
    steps: int = 1000
    report_every: int = 50
    seed: int = 0
    early_stop: EarlyStop | None = None
    validation_fraction: float | None = None
    weight_decay: float | None = None
    schedule: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMISERS:
            raise TrainingError(
                f"optimizer must be one of {', '.join(OPTIMISERS)}; got {self.optimizer!r}"
            )
        _number("lr", self.lr, 0.0, 100.0, open_low=True)
        _integer("batch_size", self.batch_size, 1)
        if self.clip is not None:
            _number("clip", self.clip, 0.0, 1e6, open_low=True)
        if self.truncate is not None:
            _integer("truncate", self.truncate, 1)
        _integer("steps", self.steps, 1)
        _integer("report_every", self.report_every, 1)
        _integer("seed", self.seed, 0, 2**63 - 1)
        if self.validation_fraction is not None:
            _number("validation_fraction", self.validation_fraction, 0.0, 0.9)
        if self.task is not None and not isinstance(self.task, str):
            raise TrainingError(f"task must be a task name, got {self.task!r}")
        if not isinstance(self.task_params, dict):
            raise TrainingError("task_params must be an object of parameter values")
        if self.weight_decay is not None:
            _number("weight_decay", self.weight_decay, 0.0, 1.0)
        if self.schedule is not None:
            schedule = self.lr_schedule()
            assert schedule is not None
            filled = {"name": self.schedule["name"], **asdict(schedule)}
            object.__setattr__(self, "schedule", filled)

    def lr_schedule(self) -> Schedule | None:
        """The schedule object of `schedule` (TrainingError naming the field if it is bad)."""
        if self.schedule is None:
            return None
        if not isinstance(self.schedule, Mapping) or "name" not in self.schedule:
            raise TrainingError("schedule must be {name: 'step' | 'cosine', …} or null")
        options = {k: v for k, v in self.schedule.items() if k != "name"}
        try:
            return make_schedule(self.schedule["name"], **options)
        except RNNError as error:
            raise TrainingError(str(error)) from None

    def build_optimizer(self) -> Optimizer:
        """The optimiser this config trains with: its rate, weight decay and schedule."""
        return make_optimizer(self.optimizer, self.lr, self.weight_decay, self.lr_schedule())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_task(
        cls, task: str, task_params: Mapping[str, Any] | None = None, **overrides: Any
    ) -> "TrainingConfig":
        """The task's default training (optimiser, lr, steps, early stop…) with `overrides`."""
        if task not in TASKS:
            raise TrainingError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        values = {**TASKS[task].default_training, **overrides}
        return cls.from_dict({**values, "task": task, "task_params": dict(task_params or {})})

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "TrainingConfig":
        """A named preset's training config with `overrides`; its model is
        `PRESETS[preset].model_config()`. Raises for presets that only show shapes."""
        if preset not in PRESETS:
            raise TrainingError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        fields_ = PRESETS[preset].training_fields()
        if fields_ is None:
            raise TrainingError(f"preset {preset!r} shows shapes only; it has nothing to train")
        return cls.from_dict({**fields_, **overrides})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainingConfig":
        """Build from JSON-like data; `early_stop` may be a dict {metric, target, mode?}."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training field(s): {', '.join(unknown)}")
        values = dict(data)
        early = values.get("early_stop")
        if isinstance(early, Mapping):
            extra = sorted(set(early) - {"metric", "target", "mode"})
            if extra or "metric" not in early or "target" not in early:
                raise TrainingError("early_stop must be {metric, target, mode?}")
            values["early_stop"] = EarlyStop(**early)
        elif early is not None and not isinstance(early, EarlyStop):
            raise TrainingError("early_stop must be {metric, target, mode?} or null")
        task_params = values.get("task_params") or {}
        if not isinstance(task_params, Mapping):
            raise TrainingError("task_params must be an object of parameter values")
        values["task_params"] = dict(task_params)
        return cls(**values)


def _integer(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrainingError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise TrainingError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise TrainingError(f"{name} must lie in [{low}, {high}], got {value}")


def _number(name: str, value: Any, low: float, high: float, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TrainingError(f"{name} must be a number, got {value!r}")
    too_low = value <= low if open_low else value < low
    if too_low or not value <= high:
        bracket = "(" if open_low else "["
        raise TrainingError(f"{name} must lie in {bracket}{low:g}, {high:g}], got {value!r}")
