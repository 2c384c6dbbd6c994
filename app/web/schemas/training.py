"""Bodies of the training routes: a session's configuration, its state and its history."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.rnn.config import Whole, WholeOrNone
from app.rnn.optim import OptimizerName
from app.rnn.schedules import MAX_PERIOD
from app.services.training import SessionStatus
from app.web.schemas.common import NumberArray, NumberOrArray, RequestBody


class EarlyStopBody(RequestBody):
    metric: str = Field(description="a metric the task reports, e.g. accuracy or relative_mse")
    target: float = Field(allow_inf_nan=False)
    mode: Literal["max", "min"] = "max"


class StepSchedule(RequestBody):
    """PyTorch's StepLR: the rate times gamma after every step_size updates."""

    name: Literal["step"]
    step_size: Whole = Field(ge=1, le=MAX_PERIOD, description="updates per decay")
    gamma: float = Field(0.1, gt=0, le=1, allow_inf_nan=False, description="the decay factor")


class CosineSchedule(RequestBody):
    """PyTorch's CosineAnnealingLR: from lr to eta_min over t_max updates along half a cosine
    (past t_max it climbs back, period 2·t_max, as PyTorch's does)."""

    name: Literal["cosine"]
    t_max: Whole = Field(ge=1, le=MAX_PERIOD, description="updates to the minimum")
    eta_min: float = Field(0.0, ge=0, le=100, allow_inf_nan=False, description="the minimum rate")


Schedule = Annotated[StepSchedule | CosineSchedule, Field(discriminator="name")]


class TrainingData(RequestBody):
    inputs: NumberArray = Field(description="(N, T, D) sequences, or (T, D) one sequence")
    targets: NumberOrArray = Field(description="as for backward, with the leading N")


class TrainRequest(RequestBody):
    """A training session's configuration; fields left out take the task's defaults."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"task": "sine", "task_params": {"length": 30}, "steps": 500, "lr": 0.01},
                {
                    "data": {"inputs": [[[0.0], [1.0]], [[1.0], [0.0]]], "targets": [[1.0], [0.0]]},
                    "steps": 100,
                },
            ]
        },
    )

    task: str | None = Field(None, description="a name from GET /api/v1/tasks")
    task_params: dict[str, Any] = Field(default_factory=dict)
    data: TrainingData | None = Field(None, description="the user's own arrays instead of a task")
    optimizer: OptimizerName | None = None
    lr: float | None = Field(None, gt=0, allow_inf_nan=False)
    batch_size: WholeOrNone = Field(None, ge=1)
    clip: float | None = Field(None, gt=0, allow_inf_nan=False, description="max global norm")
    truncate: WholeOrNone = Field(None, ge=1, description="truncated BPTT length k")
    steps: WholeOrNone = Field(None, ge=1)
    report_every: WholeOrNone = Field(None, ge=1)
    seed: WholeOrNone = Field(None, ge=0, le=2**63 - 1)
    early_stop: EarlyStopBody | None = None
    validation_fraction: float | None = Field(None, ge=0, allow_inf_nan=False)
    weight_decay: float | None = Field(
        None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="PyTorch's weight_decay: L2 added to the gradient, decoupled for adamw; "
        "null: the optimiser's PyTorch default (0.01 for adamw, else 0)",
    )
    schedule: Schedule | None = Field(
        None, description="the learning-rate schedule, stepped after every update; null: constant"
    )
    start_paused: bool = Field(False, description="wait for step or resume before training")


class SessionInfo(BaseModel):
    id: str
    model_id: str
    status: SessionStatus = Field(
        description="interrupted: its worker ended (shutdown or crash); resume continues it "
        "from the last snapshot"
    )
    control: Literal["run", "pause", "stop", "step"] = Field(
        description="the last command, which the session's worker obeys within ~0.1 s"
    )
    step: int
    steps: int = Field(description="the step budget")
    resumable: bool
    worker: str = Field(description="host:pid:nonce of the worker that runs it")
    created_at: float
    updated_at: float = Field(description="the session's last sign of life")
    training: dict[str, Any] = Field(description="the TrainingConfig in effect")
    latest: dict[str, Any] | None = Field(None, description="the latest progress record")
    error: str | None = None
    reason: str | None = Field(
        None,
        description="why the session ended, in words (finished, stopped, the early stop's "
        "metric, value and target, the failure); null while it goes on",
    )
    metrics: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="the task's metric descriptions for the session's task_params (as in "
        "GET /api/v1/tasks: range, chance level, better); empty when it trains on data",
    )


class SessionHistory(BaseModel):
    session: str
    records: list[dict[str, Any]] = Field(
        description="progress records, step ascending: step, loss, metrics, grad_norm, ..."
    )
    last_step: int = Field(description="pass as after_step to read on; -1 when empty")
