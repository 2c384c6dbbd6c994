"""What every task is: parameters with bounds, a default model, a sampler and its metrics.

A task describes itself for the page (`title`, `description`, `params`), draws examples for the
explorer (`sample`) and builds the data a training session learns from (`make_data`), which knows
its own train / validation split and how to score a network on it (`evaluate`).

Shapes follow the engine: inputs X (B, T, D); targets (B, T, Q) / (B, Q) values, or class indices
(B, T) / (B,) for cross-entropy, matching the model config's `output_mode` and `loss`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from app.rnn import ModelConfig, Network, RNNError
from app.rnn.arrays import Array
from app.rnn.errors import shown
from app.tasks.metric_info import MetricInfo

# Integer arrays: class indices, character ids, operands. Targets hold either floats or indices.
IntArray = NDArray[np.integer]
Targets = NDArray[Any]


class TaskError(RNNError):
    """Invalid task parameters or user data; the message names the parameter and the bound."""


@dataclass(frozen=True)
class SizeLimits:
    """The bounds a caller puts on what a task builds (the service reads them from its settings;
    a task keeps none of its own). max_batch: examples in one sample; max_elements: numbers
    (inputs and targets) one sample or one validation set may hold; max_text_bytes: the size of
    a text parameter (a corpus, a CSV); max_input_size: the input or output size a task's
    parameters imply (a text's vocabulary, a CSV's columns)."""

    max_batch: int
    max_elements: int
    max_text_bytes: int
    max_input_size: int


@dataclass(frozen=True)
class Param:
    """One task parameter: its kind ("int" | "float" | "choice" | "text" | "bool"), default and
    bounds. For "text" `max` bounds the size in bytes (UTF-8)."""

    kind: str
    default: Any
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description for the page; long text defaults are elided."""
        default = self.default
        if self.kind == "text" and isinstance(default, str) and len(default) > 80:
            default = None
        spec: dict[str, Any] = {"kind": self.kind, "default": default}
        if self.min is not None:
            spec["min"] = self.min
        if self.max is not None:
            spec["max"] = self.max
        if self.choices is not None:
            spec["choices"] = list(self.choices)
        spec["description"] = self.description
        return spec


@dataclass
class Sample:
    """A batch of examples. inputs: (B, T, D); targets: see the module docstring; meta: JSON-able
    facts about the batch for the page (the two numbers of an addition, the text of a window…)."""

    inputs: Array
    targets: Targets
    meta: dict[str, Any] = field(default_factory=dict)


class TaskData(Protocol):
    """The data a training session learns from, built once per session by `Task.make_data`.

    `carries_state` is True when consecutive batches continue each other (sequential sampling of
    a text), so the session feeds each batch the detached final state of the previous one.
    """

    carries_state: bool

    def batch(self, rng: np.random.Generator, batch_size: int) -> Sample:
        """A training batch; `meta` may hold "reset_state": True where a new pass begins."""
        ...

    def evaluate(self, net: Network) -> dict[str, float]:
        """Task metrics of `net` on the validation data (the training data when there is none)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able position in the data (e.g. the sequential cursor), to resume exactly."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


MetricsFn = Callable[[Array, Array], dict[str, float]]


@dataclass(frozen=True)
class Task:
    """A built-in task.

    `default_config` holds ModelConfig fields for the default params and `default_training`
    TrainingConfig fields (without `task`/`task_params`). `model_config(params)` adapts the sizes
    to the params (a text's vocabulary, a CSV's columns). `metrics(Y, targets)` scores head
    outputs Y against targets of the same batch. `other_losses` lists losses a model may use
    besides the default one's (binary addition's tutorial trains its sigmoid outputs with MSE).
    """

    name: str
    title: str
    description: str
    params: dict[str, Param]
    default_config: dict[str, Any]
    default_training: dict[str, Any]
    sampler: Callable[[np.random.Generator, int, dict[str, Any]], Sample]
    # (params, seed, validation_fraction, max_elements) → the session's data.
    data_factory: Callable[[dict[str, Any], int, float | None, int | None], TaskData]
    metrics_fn: Callable[[Array, Array, dict[str, Any]], dict[str, float]]
    sizes: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    other_losses: tuple[str, ...] = ()
    # What each scalar metric means, its range and its chance level (see MetricInfo).
    metric_info: Mapping[str, MetricInfo] = field(default_factory=dict)

    def validate(
        self, params: Mapping[str, Any] | None = None, limits: SizeLimits | None = None
    ) -> dict[str, Any]:
        """All params with defaults filled in, each checked (a text against
        `limits.max_text_bytes`); raises TaskError naming the bad one."""
        values = validate_params(self.name, self.params, params or {})
        if limits is not None:
            for name, param in self.params.items():
                size = len(values[name].encode("utf-8")) if param.kind == "text" else 0
                if size > limits.max_text_bytes:
                    raise TaskError(
                        f"{name} is {size} bytes; at most {limits.max_text_bytes} are allowed"
                    )
            if self.sizes is not None:
                for size_name, size in self.sizes(values).items():
                    if size_name in ("input_size", "output_size") and size > limits.max_input_size:
                        raise TaskError(
                            f"these parameters make {size_name} {size}; at most "
                            f"{limits.max_input_size} is allowed"
                        )
        return values

    def sample(
        self, seed: int = 0, batch_size: int = 1, *, limits: SizeLimits | None = None, **params: Any
    ) -> Sample:
        """`batch_size` examples drawn reproducibly from `seed`; within `limits` (at most
        max_batch examples and max_elements numbers of inputs and targets in all; TaskError names
        the sizes), unbounded without."""
        values = self.validate(params, limits)
        _check_int("batch_size", batch_size, 1, None if limits is None else limits.max_batch)
        _check_int("seed", seed, 0, 2**63 - 1)
        one = self.sampler(np.random.default_rng(seed), 1, values)
        if batch_size == 1:
            return one
        per_example = example_size(one)
        if limits is not None and batch_size * per_example > limits.max_elements:
            raise TaskError(
                f"batch_size {batch_size} × {per_example} numbers per example "
                f"(inputs and targets) is more than {limits.max_elements}; use a smaller "
                "batch_size or shorter sequences"
            )
        return self.sampler(np.random.default_rng(seed), batch_size, values)

    def model_config(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`default_config` with input/output sizes fitted to `params`."""
        config = dict(self.default_config)
        if self.sizes is not None:
            config.update(self.sizes(self.validate(params)))
        return config

    def check_config(self, config: ModelConfig, params: Mapping[str, Any] | None = None) -> None:
        """Raise TaskError if `config` cannot learn this task (sizes, loss or output mode)."""
        expected = self.model_config(params)
        for name in ("input_size", "output_size", "output_mode"):
            have = getattr(config, name)
            if have != expected[name]:
                raise TaskError(
                    f"task {self.name!r} needs {name} = {expected[name]!r}, the model has {have!r}"
                )
        losses = (expected["loss"], *self.other_losses)
        if config.loss not in losses:
            raise TaskError(
                f"task {self.name!r} needs loss {' or '.join(map(repr, losses))}, "
                f"the model has {config.loss!r}"
            )

    def make_data(
        self,
        params: Mapping[str, Any] | None,
        seed: int,
        validation_fraction: float | None,
        limits: SizeLimits | None = None,
    ) -> TaskData:
        """The session's data; `validation_fraction` None means the task's own default. A data
        set or validation set holds at most `limits.max_elements` numbers."""
        values = self.validate(params, limits)
        max_elements = None if limits is None else limits.max_elements
        return self.data_factory(values, seed, validation_fraction, max_elements)

    def metrics(
        self, Y: Array, targets: Targets, params: Mapping[str, Any] | None = None
    ) -> dict[str, float]:
        """Task metrics of head outputs Y against targets (shapes as in the module docstring)."""
        return self.metrics_fn(np.asarray(Y), np.asarray(targets), self.validate(params))

    def describe(self, limits: SizeLimits | None = None) -> dict[str, Any]:
        """JSON-able summary for `GET /api/v1/tasks`; a text parameter's `max` (bytes) is
        `limits.max_text_bytes`."""
        params = {name: p.to_dict() for name, p in self.params.items()}
        if limits is not None:
            for name, param in self.params.items():
                if param.kind == "text":
                    params[name]["max"] = limits.max_text_bytes
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": params,
            "default_config": dict(self.default_config),
            "default_training": dict(self.default_training),
            "metrics": self.describe_metrics(),
        }

    def describe_metrics(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{metric: MetricInfo.describe} for `params` (defaults filled in); a "train_" prefixed
        metric (the same figure on the training data) has its unprefixed name's description."""
        values = self.validate(params)
        return {name: info.describe(values) for name, info in self.metric_info.items()}


def example_size(sample: Sample) -> int:
    """Numbers in one example of `sample` (its inputs and targets)."""
    B = sample.inputs.shape[0]
    return int(sample.inputs.size // B + np.asarray(sample.targets).size // B)


def validate_params(
    task: str, spec: Mapping[str, Param], given: Mapping[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise TaskError(
            f"task {task!r} has no parameter(s) {', '.join(unknown)}; "
            f"it takes {', '.join(spec) or 'none'}"
        )
    values: dict[str, Any] = {}
    for name, param in spec.items():
        value = given.get(name, param.default)
        values[name] = _checked(name, param, value)
    return values


def _checked(name: str, param: Param, value: Any) -> Any:
    if param.kind == "int":
        return _check_int(name, value, param.min, param.max)
    if param.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TaskError(f"{name} must be a number, got {value!r}")
        value = float(value)
        if not np.isfinite(value):
            raise TaskError(f"{name} must be finite, got {value!r}")
        _check_range(name, value, param.min, param.max)
        return value
    if param.kind == "choice":
        assert param.choices is not None
        if value not in param.choices:
            raise TaskError(f"{name} must be one of {', '.join(param.choices)}; got {value!r}")
        return value
    if param.kind == "bool":
        if not isinstance(value, bool):
            raise TaskError(f"{name} must be true or false, got {value!r}")
        return value
    if param.kind == "text":
        if isinstance(value, bytes | bytearray):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError as error:
                raise TaskError(
                    f"{name} is not valid UTF-8 (byte {error.start} cannot be decoded)"
                ) from None
        if not isinstance(value, str):
            raise TaskError(f"{name} must be text, got {type(value).__name__}")
        size = len(value.encode("utf-8"))
        if param.max is not None and size > param.max:
            raise TaskError(f"{name} is {size} bytes; at most {int(param.max)} bytes are allowed")
        if param.min is not None and size < param.min:
            raise TaskError(f"{name} is {size} bytes; at least {int(param.min)} are needed")
        return value
    raise TaskError(f"parameter {name} has an unknown kind {param.kind!r}")


def _check_int(name: str, value: Any, low: float | None, high: float | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TaskError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    _check_range(name, value, low, high)
    return value


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise TaskError(f"{name} must be at least {low:g}, got {shown(value)}")
    if high is not None and value > high:
        raise TaskError(f"{name} must be at most {high:g}, got {shown(value)}")


def validation_size(fraction: float | None, default: float, total: int) -> int:
    """How many of `total` examples go to validation; at least one stays for training."""
    fraction = default if fraction is None else fraction
    if not 0.0 <= fraction < 1.0:
        raise TaskError(f"validation_fraction must lie in [0, 1), got {fraction!r}")
    held_out = round(fraction * total)
    return min(held_out, total - 1)


def forward_in_chunks(net: Network, X: Array, chunk: int = 1024) -> Array:
    """Head outputs Y of `net` on X (N, T, D), evaluated `chunk` sequences at a time."""
    parts = [net.forward(X[i : i + chunk]).Y for i in range(0, X.shape[0], chunk)]
    return np.concatenate(parts, axis=0)
