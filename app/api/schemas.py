"""Request and response bodies of API v1, and the messages of the WebSocket stream.

Request models are strict: a JSON `true` is not the integer 1, nor "3" the number 3.
Arrays are nested JSON lists (time-major inside one sequence). Their element checks (ragged
arrays, non-numbers, shapes, size limits) happen in `app.api.arrays` and the service, which give
the path of the offending element; the schemas here describe them for OpenAPI.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

STREAM_PROTOCOL_VERSION = 1

_ARRAY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"anyOf": [{"type": "number"}, {"type": "array", "items": {}}]},
    "description": "an array as nested lists of numbers",
}
NumberArray = Annotated[list[Any], WithJsonSchema(_ARRAY_SCHEMA)]
NumberOrArray = Annotated[
    float | list[Any],
    WithJsonSchema({"anyOf": [{"type": "number"}, _ARRAY_SCHEMA]}),
]


class ErrorResponse(BaseModel):
    """Every 4xx answer: what is wrong and where; limit errors name the field and the bound."""

    detail: Any = Field(description="a message, or FastAPI's list of validation errors")
    field: str | None = None
    limit: dict[str, Any] | None = Field(None, examples=[{"setting": "max_steps", "value": 1000}])


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 413, 422, 429)
}


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    worker: int = Field(description="the answering worker's process id")


class Choices(BaseModel):
    """What GET /api/v1/choices answers: the page's menus and bounds."""

    model: dict[str, list[str]] = Field(description="each ModelConfig choice field's values")
    model_defaults: dict[str, Any] = Field(description="ModelConfig's defaults (sizes excepted)")
    training: dict[str, list[str]] = Field(description="each TrainRequest choice field's values")
    limits: dict[str, int | float] = Field(description="the settings that bound a client's sizes")


class ModelConfigBody(BaseModel):
    """A network's configuration (DESIGN.md); sizes are bounded by the service's settings."""

    model_config = ConfigDict(extra="forbid", strict=True)

    input_size: int = Field(ge=1, description="D, inputs per step")
    hidden_size: int = Field(ge=1, description="H, hidden units per layer")
    output_size: int = Field(ge=1, description="Q, outputs per step")
    cell: Literal["rnn", "lstm", "gru"] = "rnn"
    num_layers: int = Field(1, ge=1)
    nonlinearity: Literal["tanh", "sigmoid", "relu", "identity"] = "tanh"
    head: Literal["identity", "softmax", "sigmoid"] = "identity"
    loss: Literal["mse", "cross_entropy", "bce"] = "mse"
    output_mode: Literal["sequence", "last"] = "sequence"
    init: Literal[
        "pytorch", "uniform", "uniform_symmetric", "normal", "xavier", "orthogonal", "identity"
    ] = "pytorch"
    init_std: float = Field(0.01, gt=0, allow_inf_nan=False)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    dtype: Literal["float64", "float32"] = "float64"
    forget_bias: float = Field(
        0.0,
        ge=-10,
        le=10,
        allow_inf_nan=False,
        description="LSTM only: added to the forget gate's initial bias (1 keeps memory open)",
    )


class CreateModelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "config": {"cell": "rnn", "input_size": 1, "hidden_size": 16, "output_size": 1},
                    "name": "sine predictor",
                }
            ]
        },
    )

    config: ModelConfigBody
    name: str = Field("", max_length=200)


class ModelInfo(BaseModel):
    id: str
    name: str
    config: dict[str, Any]
    created_at: float = Field(description="seconds since the epoch")
    updated_at: float
    weights_version: int = Field(description="incremented whenever training saves weights")
    parameter_count: int
    shapes: dict[str, list[int]] = Field(description="PyTorch names and shapes")


class ForwardRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"inputs": [[0.0], [0.5], [1.0]]}]},
    )

    inputs: NumberArray = Field(description="(T, D) one sequence, or (B, T, D) a batch")
    h0: NumberArray | None = Field(None, description="(L, H) or (L, B, H); zeros if absent")
    c0: NumberArray | None = Field(None, description="the LSTM's initial cell state, like h0")


class BackwardRequest(ForwardRequest):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"inputs": [[0.0], [0.5], [1.0]], "targets": [[0.5], [1.0], [0.0]]}]
        },
    )

    targets: NumberOrArray = Field(
        description="(T_out, Q) / (B, T_out, Q); class indices (T_out,) / (B, T_out) for "
        "cross-entropy; T_out = T in 'sequence' mode, absent in 'last' mode"
    )
    truncate: int | None = Field(None, ge=1, description="truncated BPTT every k steps")
    step_grads: Literal["none", "norms", "full"] = Field(
        "norms", description="each step's contribution to the weight gradients"
    )
    jacobian: bool | None = Field(
        None,
        description="‖∂H_T/∂H_t‖ per layer: true always, false never, absent when cheap",
    )


class LayerForward(BaseModel):
    H: NumberArray = Field(description="(T, H) hidden states")
    A: NumberArray = Field(description="(T, G·H) pre-activations, gates in PyTorch order")
    gates: dict[str, NumberArray] = Field(description="lstm i, f, g, o, C; gru r, z, n")


class FinalState(BaseModel):
    h: NumberArray = Field(description="(L, H)")
    c: NumberArray | None = Field(None, description="(L, H), lstm only")


class ForwardTraceBody(BaseModel):
    layers: list[LayerForward]
    final_state: FinalState
    spectral_radius: list[dict[str, float]]


class ForwardResponse(BaseModel):
    outputs: NumberArray = Field(description="(T_out, Q) after the head")
    logits: NumberArray = Field(description="(T_out, Q) before the head")
    trace: ForwardTraceBody


class LayerBackward(BaseModel):
    dH: NumberArray = Field(description="(T, H) total dL/dH_t")
    dA: NumberArray = Field(description="(T, G·H) dL/d(pre-activation)")
    dH_norm: list[float] = Field(description="(T,) ‖dL/dH_t‖ over batch and units")
    step_grad_norms: dict[str, list[float]] = Field(description="W_xh, W_hh, b_h (b_hn): (T,)")
    step_grads: dict[str, NumberArray] | None = Field(None, description="with step_grads=full")
    jacobian_norms: list[float] | None = Field(None, description="(T,) ‖∂H_T/∂H_t‖, sequence 0")


class HeadBackward(BaseModel):
    step_grad_norms: dict[str, list[float]] = Field(description="W_hq, b_q: (T_out,)")


class BackwardTraceBody(BaseModel):
    dO: NumberArray = Field(description="dL/dO, the logits' shape")
    layers: list[LayerBackward]
    head: HeadBackward


class BackwardResponse(BaseModel):
    loss: float
    outputs: NumberArray
    logits: NumberArray
    grads: dict[str, NumberArray] = Field(description="PyTorch names and layouts")
    grad_norms: dict[str, float]
    trace: BackwardTraceBody


# Tasks --------------------------------------------------------------------------------------


class TaskInfo(BaseModel):
    name: str
    title: str
    description: str
    params: dict[str, dict[str, Any]] = Field(
        description="each parameter's kind, default, bounds (min, max, choices) and meaning"
    )
    default_config: dict[str, Any] = Field(description="a ModelConfig that fits the defaults")
    default_training: dict[str, Any] = Field(description="TrainingConfig fields that work")


class SampleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"seed": 1, "params": {"length": 20}}]},
    )

    seed: int = Field(0, ge=0, le=2**63 - 1)
    batch_size: int | None = Field(
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


# Training -----------------------------------------------------------------------------------


class EarlyStopBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    metric: str = Field(description="a metric the task reports, e.g. accuracy or relative_mse")
    target: float = Field(allow_inf_nan=False)
    mode: Literal["max", "min"] = "max"


class TrainingData(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    inputs: NumberArray = Field(description="(N, T, D) sequences, or (T, D) one sequence")
    targets: NumberOrArray = Field(description="as for backward, with the leading N")


class TrainRequest(BaseModel):
    """A training session's configuration; fields left out take the task's defaults."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
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
    optimizer: Literal["sgd", "momentum", "adagrad", "rmsprop", "adam"] | None = None
    lr: float | None = Field(None, gt=0, allow_inf_nan=False)
    batch_size: int | None = Field(None, ge=1)
    clip: float | None = Field(None, gt=0, allow_inf_nan=False, description="max global norm")
    truncate: int | None = Field(None, ge=1, description="truncated BPTT length k")
    steps: int | None = Field(None, ge=1)
    report_every: int | None = Field(None, ge=1)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    early_stop: EarlyStopBody | None = None
    validation_fraction: float | None = Field(None, ge=0, allow_inf_nan=False)
    start_paused: bool = Field(False, description="wait for step or resume before training")


SessionStatus = Literal[
    "running", "paused", "stopped", "finished", "early_stopped", "failed", "interrupted"
]


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


class SessionHistory(BaseModel):
    session: str
    records: list[dict[str, Any]] = Field(
        description="progress records, step ascending: step, loss, metrics, grad_norm, ..."
    )
    last_step: int = Field(description="pass as after_step to read on; -1 when empty")


# WebSocket messages -------------------------------------------------------------------------


class SampleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    task: str
    seed: int = Field(0, ge=0, le=2**63 - 1)
    params: dict[str, Any] = Field(default_factory=dict)


class RunCommand(BaseModel):
    """Run a forward (and, with targets, a backward) pass and stream it step by step."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["run"]
    inputs: NumberArray | None = None
    targets: NumberOrArray | None = None
    h0: NumberArray | None = None
    c0: NumberArray | None = None
    sample: SampleSpec | None = Field(None, description="replaces inputs/targets")
    truncate: int | None = Field(None, ge=1)
    rate: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="frames per second; 0 = as fast as read"
    )
    manual: bool = Field(False, description="start paused: one frame per step command")


class StepCommand(BaseModel):
    """Send the next frame of the current run, and pause it there."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["step"]


class PauseCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["pause"]


class ResumeCommand(BaseModel):
    """Play the current run on, at `rate` frames per second if given."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["resume"]
    rate: float | None = Field(None, ge=0, allow_inf_nan=False)


class StopCommand(BaseModel):
    """Cancel the current run or follow; the server answers with an end frame."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["stop"]


class FollowCommand(BaseModel):
    """Metric frames of a training session (any worker's) until it ends."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["follow"]
    session: str
    after_step: int = Field(-1, ge=-1, le=2**53, description="replay history after this step")


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


class ForwardFrame(_Frame):
    type: Literal["forward"] = "forward"
    t: int
    H: list[list[float]] = Field(description="(H) per layer")
    A: list[list[float]] = Field(description="(G·H) per layer")
    gates: list[dict[str, list[float]]]
    logits: list[float] | None = Field(None, description="(Q), at steps with an output")
    output: list[float] | None = None


class BackwardFrame(_Frame):
    type: Literal["backward"] = "backward"
    t: int
    dH: list[list[float]] = Field(description="(H) per layer")
    dA: list[list[float]] = Field(description="(G·H) per layer")
    dH_norm: list[float] = Field(description="per layer, over the batch, as in REST")
    step_grad_norms: list[dict[str, float]]
    head_step_grad_norms: dict[str, float] | None = None


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
