"""Sequence tasks: the registry of built-in tasks and the presets that reproduce the tutorials.

`TASKS[name]` is a `Task` (see `base.py`): its params with bounds, default model and training
configs, `sample(seed, batch_size, **params)`, `make_data(...)` for a training session and
`metrics(Y, targets)`. `PRESETS[name]` is a `Preset` (see `presets.py`): a classic tutorial's
model config and, when it trains, its task, task params and training config.
"""

from app.tasks import binary_addition, char_lm, csv_series, memory, sine, spiral, waveforms
from app.tasks.base import Param, Sample, SizeLimits, Task, TaskData, TaskError
from app.tasks.presets import Preset, build_presets

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        binary_addition.TASK,
        sine.TASK,
        char_lm.TASK,
        memory.COPY,
        memory.ADDING,
        waveforms.TASK,
        spiral.TASK,
        csv_series.TASK,
    )
}

PRESETS: dict[str, Preset] = build_presets(TASKS)

__all__ = [
    "PRESETS",
    "TASKS",
    "Param",
    "Preset",
    "Sample",
    "SizeLimits",
    "Task",
    "TaskData",
    "TaskError",
]
