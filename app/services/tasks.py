"""The built-in tasks as the API shows them: descriptions, samples, and their size limits.

Text parameters (a corpus, a CSV) are bounded by the settings' `max_text_length` and a sample's
batch size and length by `max_batch` / `max_steps`, all checked before the task computes; the
task itself is given the same bounds (`Limits.task_limits`).
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.services.errors import InputError, NotFoundError
from app.services.limits import Limits
from app.tasks import PRESETS, TASKS, Preset, Sample, Task
from app.tasks.base import TaskError

__all__ = ["DrawnSample", "TaskService", "finite"]


def finite(value: Any) -> Any:
    """`value` with NumPy scalars made Python numbers and NaN/±Inf made None (JSON-safe)."""
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class DrawnSample:
    """A task's example(s) as the API answers them: `sample.inputs` (B, T, D) and targets with
    the batch axis; `batched` says whether the client asked for a batch; `config` a ModelConfig
    (as a dict) that fits the parameters."""

    task: str
    seed: int
    sample: Sample
    batched: bool
    config: dict[str, Any]


class TaskService:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def get(self, name: str, field: str | None = None) -> Task:
        """The task called `name`: 404 if unknown, or 422 naming `field` (a request's field)."""
        task = TASKS.get(name)
        if task is None:
            message = f"no task named {name!r}; the tasks are {', '.join(TASKS)}"
            raise NotFoundError(message) if field is None else InputError(field, message)
        return task

    def list_all(self) -> list[dict[str, Any]]:
        return [finite(task.describe(self.limits.task_limits)) for task in TASKS.values()]

    def describe(self, name: str) -> dict[str, Any]:
        return dict(finite(self.get(name).describe(self.limits.task_limits)))

    def describe_metrics(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Task `name`'s metric descriptions for `params` (see Task.describe_metrics)."""
        return dict(finite(self.get(name).describe_metrics(params)))

    def preset(self, name: str) -> Preset:
        preset = PRESETS.get(name)
        if preset is None:
            raise NotFoundError(f"no preset named {name!r}; the presets are {', '.join(PRESETS)}")
        return preset

    def presets(self) -> list[dict[str, Any]]:
        return [finite(preset.describe()) for preset in PRESETS.values()]

    def describe_preset(self, name: str) -> dict[str, Any]:
        return dict(finite(self.preset(name).describe()))

    def preset_example(self, name: str, seed: int) -> Array:
        """Inputs (B, T, D) for a forward pass of the preset's model: a shapes-only preset's
        standard-normal inputs of its tutorial's shape, a training preset's one example of its
        task (with its parameters), drawn by `seed`."""
        preset = self.preset(name)
        if preset.task is None:
            return preset.example_inputs(seed)
        return self.sample(preset.task, seed, 1, dict(preset.task_params)).sample.inputs

    def usable(self) -> tuple[list[str], list[str]]:
        """The tasks and presets whose default example fits this service's limits (a service
        with small limits cannot sample every task): the names its OpenAPI document offers."""
        tasks = [name for name in TASKS if _fits(self.sample, name, 0, None, {})]
        presets = [name for name in PRESETS if _fits(self.preset_example, name, 0)]
        return tasks, presets

    def check_params(self, task: Task, params: Mapping[str, Any], field: str) -> None:
        """Bound the text parameters by `max_text_length` before the task reads them."""
        for name, param in task.params.items():
            value = params.get(name)
            if param.kind == "text" and isinstance(value, str):
                size = len(value.encode("utf-8"))
                self.limits.check(
                    f"{field}.{name}", "the text size in bytes", "max_text_length", size
                )

    def query_params(self, name: str, query: Mapping[str, str]) -> dict[str, Any]:
        """A sample's task parameters from URL query strings, converted by each one's kind."""
        task = self.get(name)
        params: dict[str, Any] = {}
        for key, text in query.items():
            param = task.params.get(key)
            if param is None:
                known = ", ".join(task.params) or "none"
                raise InputError(key, f"task {name!r} has no parameter {key!r}; it takes {known}")
            params[key] = _convert(key, param.kind, text)
        return params

    def sample(
        self, name: str, seed: int, batch_size: int | None, params: dict[str, Any]
    ) -> DrawnSample:
        """One example (batch_size None) or `batch_size` of them, with a model config that
        fits."""
        task = self.get(name)
        batch = 1 if batch_size is None else batch_size
        self.limits.check("batch_size", "the batch size B", "max_batch", batch)
        self.check_params(task, params, "params")
        drawn = task.sample(seed, batch, limits=self.limits.task_limits, **params)
        T = int(drawn.inputs.shape[1])
        self.limits.check("params", "the number of steps T", "max_steps", T)
        return DrawnSample(name, seed, drawn, batch_size is not None, task.model_config(params))

    def sampler(self, name: str, seed: int, params: dict[str, Any]) -> tuple[Array, Array]:
        """(inputs (T, D), targets) of one example, for the stream's `sample`."""
        drawn = self.sample(name, seed, None, params).sample
        return drawn.inputs[0], np.asarray(drawn.targets)[0]


def _fits(draw: Callable[..., object], *args: Any) -> bool:
    """Whether drawing an example succeeds within the limits."""
    try:
        draw(*args)
    except (InputError, TaskError):  # a LimitError is an InputError
        return False
    return True


def _convert(key: str, kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
    except ValueError:
        raise InputError(key, f"{key} must be a finite {kind}, got {text!r}") from None
    if kind == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise InputError(key, f"{key} must be true or false, got {text!r}")
        return lowered in ("true", "1")
    return text
