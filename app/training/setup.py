"""What a training session is built from: its model config, its data, and the bound on a batch.

Each function takes the session's configs and the caller's bounds (None: unbounded) and raises
TrainingError or TaskError naming what does not fit.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.rnn import ModelConfig, Network
from app.rnn.arrays import Array
from app.tasks import TASKS, SizeLimits, Task, TaskData
from app.tasks.user_arrays import array_data
from app.training.config import TrainingConfig, TrainingError

__all__ = ["check_batch_size", "make_data", "model_config", "task_of"]


def task_of(training: TrainingConfig) -> Task | None:
    """The task the session trains on; None for the user's own arrays."""
    name = training.task
    if name is None:
        return None
    if name not in TASKS:
        raise TrainingError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


def model_config(
    training: TrainingConfig, model: ModelConfig | Mapping[str, Any] | None
) -> ModelConfig:
    """`model` checked against the task, or the task's default model for its params."""
    task = task_of(training)
    if model is None:
        if task is None:
            raise TrainingError("a model config is needed when training on explicit data")
        return ModelConfig.from_dict(task.model_config(training.task_params))
    config = model if isinstance(model, ModelConfig) else ModelConfig.from_dict(dict(model))
    if task is not None:
        task.check_config(config, training.task_params)
    return config


def check_batch_size(
    training: TrainingConfig,
    config: ModelConfig,
    inputs: Array | None,
    limit: int | None,
    task_limits: SizeLimits | None,
) -> None:
    """Raise TrainingError if one batch would hold more than `limit` numbers per array,
    B·T·max(D, G·H, Q)."""
    if limit is None:
        return
    task = task_of(training)
    if task is not None:
        example = task.sample(0, 1, limits=task_limits, **training.task_params)
        T = example.inputs.shape[1]
    elif inputs is not None and np.ndim(inputs) in (2, 3):
        T = np.shape(inputs)[-2]
    else:
        return
    B = training.batch_size
    width = max(config.input_size, config.gates * config.hidden_size, config.output_size)
    if B * T * width > limit:
        raise TrainingError(
            f"batch_size {B} × {T} steps × {width} (max of D, G·H, Q) = {B * T * width} "
            f"numbers per batch; at most {limit} are allowed (use a smaller batch_size)"
        )


def make_data(
    training: TrainingConfig,
    net: Network,
    inputs: Array | None,
    targets: Array | None,
    max_elements: int | None,
    task_limits: SizeLimits | None,
) -> tuple[TaskData, tuple[Array, Array] | None]:
    """The session's data, and the user's arrays as checked (None for a task), which a
    snapshot keeps."""
    task = task_of(training)
    if task is not None:
        if inputs is not None or targets is not None:
            raise TrainingError("give either a task or explicit inputs/targets, not both")
        data = task.make_data(
            training.task_params, training.seed, training.validation_fraction, task_limits
        )
        return data, None
    if inputs is None or targets is None:
        raise TrainingError("training needs a task, or both inputs and targets")
    data, X, y = array_data(
        net, inputs, targets, training.validation_fraction, training.seed, max_elements
    )
    return data, (X, y)
