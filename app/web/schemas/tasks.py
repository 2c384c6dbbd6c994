"""Bodies of the tasks' and presets' routes."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.rnn.config import Whole, WholeOrNone
from app.web.schemas.common import NumberArray, NumberOrArray, RequestBody


class TaskInfo(BaseModel):
    name: str
    title: str
    description: str
    params: dict[str, dict[str, Any]] = Field(
        description="each parameter's kind, default, bounds (min, max, choices) and meaning"
    )
    default_config: dict[str, Any] = Field(description="a ModelConfig that fits the defaults")
    default_training: dict[str, Any] = Field(description="TrainingConfig fields that work")
    metrics: dict[str, dict[str, Any]] = Field(
        description="each scalar metric's meaning, range ([0, 1] for a fraction, else null), "
        "chance level (a guessing network's value, or null) and better (max | min), for the "
        'default parameters; a "train_" metric is described by its unprefixed name'
    )


class SampleRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"seed": 1, "params": {"length": 20}}]},
    )

    seed: Whole = Field(0, ge=0, le=2**63 - 1)
    batch_size: WholeOrNone = Field(
        None, ge=1, description="absent: one sequence without a batch axis"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="the task's parameters")


class TaskSample(BaseModel):
    task: str
    seed: int
    inputs: NumberArray = Field(description="(T, D), or (B, T, D) when batch_size was given")
    targets: NumberOrArray = Field(description="as the fitting model's backward pass wants")
    meta: dict[str, Any] = Field(description="facts about the example, for the page")
    config: dict[str, Any] = Field(description="a ModelConfig that fits these params")


class PresetInfo(BaseModel):
    name: str
    description: str
    group: str | None = Field(description="presets of one group are meant side by side")
    model: dict[str, Any] = Field(description="the ModelConfig to create")
    task: str | None = Field(description="the task it trains on; null: it shows shapes only")
    task_params: dict[str, Any]
    training: dict[str, Any] | None = Field(description="the TrainRequest to start")
    example_shape: list[int] | None = Field(description="(B, T, D) of a shapes-only preset")


class PresetExample(BaseModel):
    preset: str
    seed: int
    inputs: NumberArray = Field(description="(B, T, D) standard-normal inputs")
    config: dict[str, Any]
