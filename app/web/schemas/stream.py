"""The WebSocket stream's messages (protocol v1): commands in, frames out."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.rnn.config import Whole, WholeOrNone
from app.web.schemas.common import NumberArray, NumberOrArray, RequestBody
from app.web.schemas.training import TrainRequest


class SampleSpec(RequestBody):
    task: str
    seed: Whole = Field(0, ge=0, le=2**63 - 1)
    params: dict[str, Any] = Field(default_factory=dict)


class RunCommand(RequestBody):
    """Run a forward (and, with targets, a backward) pass and stream it step by step."""

    type: Literal["run"]
    inputs: NumberArray | None = None
    targets: NumberOrArray | None = None
    h0: NumberArray | None = None
    c0: NumberArray | None = None
    sample: SampleSpec | None = Field(None, description="replaces inputs/targets")
    truncate: WholeOrNone = Field(None, ge=1)
    rate: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="frames per second; 0 = as fast as read"
    )
    manual: bool = Field(False, description="start paused: one frame per step command")
    lengths: NumberArray | None = Field(
        None,
        description="(B,) each sequence's real steps, whole numbers in 1…T, as in POST "
        ".../forward; frames at steps t ≥ lengths[0] say padding: true",
    )
    format: Literal["json", "binary"] = Field(
        "json",
        description="binary: the run's forward and backward frames come as binary messages in "
        "the binary trace layout, rows in the model's dtype; other messages stay JSON text",
    )


class StepCommand(RequestBody):
    """Send the next frame of the current run, and pause it there."""

    type: Literal["step"]


class PauseCommand(RequestBody):
    type: Literal["pause"]


class ResumeCommand(RequestBody):
    """Play the current run on, at `rate` frames per second if given."""

    type: Literal["resume"]
    rate: float | None = Field(None, ge=0, allow_inf_nan=False)


class StopCommand(RequestBody):
    """Cancel the current run or follow; the server answers with an end frame."""

    type: Literal["stop"]


class FollowCommand(RequestBody):
    """Metric frames of a training session (any worker's) until it ends."""

    type: Literal["follow"]
    session: str
    after_step: Whole = Field(-1, ge=-1, le=2**53, description="replay history after this step")


class TrainCommand(TrainRequest):
    """Start a training session on this model (as POST .../train), then follow it."""

    type: Literal["train"]


StreamCommand = Annotated[
    RunCommand
    | StepCommand
    | PauseCommand
    | ResumeCommand
    | StopCommand
    | FollowCommand
    | TrainCommand,
    Field(discriminator="type"),
]


class _Frame(BaseModel):
    v: Literal[1] = 1


class StartFrame(_Frame):
    type: Literal["start"] = "start"
    T: int
    layers: int
    cell: str
    batch: int
    phases: list[Literal["forward", "backward"]]
    bidirectional: bool | None = Field(None, description="present (true) for a bidirectional model")
    lengths: list[int] | None = Field(None, description="present when the run was given lengths")
    format: Literal["binary"] | None = Field(None, description="present when frames are binary")


class ForwardFrame(_Frame):
    type: Literal["forward"] = "forward"
    t: int
    H: list[list[float]] = Field(description="(H) per layer")
    A: list[list[float]] = Field(description="(G·H) per layer")
    gates: list[dict[str, list[float]]]
    logits: list[float] | None = Field(None, description="(Q), at steps with an output")
    output: list[float] | None = None
    reverse: "ReverseForward | None" = Field(
        None, description="bidirectional: the reverse direction's values at input step t"
    )
    padding: bool | None = Field(None, description="present (true) at steps t ≥ lengths[0]")


class BackwardFrame(_Frame):
    type: Literal["backward"] = "backward"
    t: int
    dH: list[list[float]] = Field(description="(H) per layer")
    dA: list[list[float]] = Field(description="(G·H) per layer")
    dH_norm: list[float] = Field(description="per layer, over the batch, as in REST")
    step_grad_norms: list[dict[str, float]]
    head_step_grad_norms: dict[str, float] | None = None
    dC: list[list[float]] | None = Field(
        None, description="LSTM only: (H) per layer, the total dL/dC_t as in REST's trace"
    )
    reverse: "ReverseBackward | None" = Field(
        None,
        description="bidirectional: the reverse direction's values at input step t; its "
        "step_grad_norms at its own step that reads X_t (lengths[0] − 1 − t)",
    )
    padding: bool | None = Field(None, description="present (true) at steps t ≥ lengths[0]")


class ReverseForward(BaseModel):
    H: list[list[float]]
    A: list[list[float]]
    gates: list[dict[str, list[float]]]


class ReverseBackward(BaseModel):
    dH: list[list[float]]
    dA: list[list[float]]
    dH_norm: list[float]
    step_grad_norms: list[dict[str, float]]
    dC: list[list[float]] | None = None


class SummaryFrame(_Frame):
    type: Literal["summary"] = "summary"
    loss: float | None
    grad_norms: dict[str, float]
    frames: int


class MetricsFrame(_Frame):
    model_config = ConfigDict(extra="allow")

    type: Literal["metrics"] = "metrics"
    session: str
    step: int
    loss: float | None = None


class SessionFrame(_Frame):
    """The session a train command started; metrics frames follow."""

    type: Literal["session"] = "session"
    session: str
    status: str


class EndFrame(_Frame):
    type: Literal["end"] = "end"
    session: str | None = None
    status: str
    reason: str | None = Field(None, description="a followed session: why it ended, in words")
    error: str | None = Field(None, description="a followed session that failed: the error")


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    detail: str
    field: str | None = None


STREAM_MESSAGES: tuple[type[BaseModel], ...] = (
    RunCommand,
    StepCommand,
    PauseCommand,
    ResumeCommand,
    StopCommand,
    FollowCommand,
    TrainCommand,
    StartFrame,
    ForwardFrame,
    BackwardFrame,
    SummaryFrame,
    MetricsFrame,
    SessionFrame,
    EndFrame,
    ErrorFrame,
)

ForwardFrame.model_rebuild()
BackwardFrame.model_rebuild()
