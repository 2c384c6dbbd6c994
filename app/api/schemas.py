"""Request and response bodies of API v1, and the messages of the WebSocket stream.

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


class ModelConfigBody(BaseModel):
    """A network's configuration (DESIGN.md); sizes are bounded by the service's settings."""

    model_config = ConfigDict(extra="forbid")

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


class CreateModelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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
        json_schema_extra={"examples": [{"inputs": [[0.0], [0.5], [1.0]]}]},
    )

    inputs: NumberArray = Field(description="(T, D) one sequence, or (B, T, D) a batch")
    h0: NumberArray | None = Field(None, description="(L, H) or (L, B, H); zeros if absent")
    c0: NumberArray | None = Field(None, description="the LSTM's initial cell state, like h0")


class BackwardRequest(ForwardRequest):
    model_config = ConfigDict(
        extra="forbid",
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


# WebSocket messages -------------------------------------------------------------------------


class SampleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    seed: int = Field(0, ge=0, le=2**63 - 1)
    params: dict[str, Any] = Field(default_factory=dict)


class RunCommand(BaseModel):
    """Run a forward (and, with targets, a backward) pass and stream it step by step."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["run"]
    inputs: NumberArray | None = None
    targets: NumberOrArray | None = None
    h0: NumberArray | None = None
    c0: NumberArray | None = None
    sample: SampleSpec | None = Field(None, description="replaces inputs/targets")
    truncate: int | None = Field(None, ge=1)
    rate: float = Field(0.0, ge=0, description="frames per second; 0 = as fast as sent")
    manual: bool = Field(False, description="one frame per step command")


class StepCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["step"]


class StopCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["stop"]


class FollowCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["follow"]
    session: str
    after_step: int = Field(-1, ge=-1, description="replay history after this step")


StreamCommand = Annotated[
    RunCommand | StepCommand | StopCommand | FollowCommand, Field(discriminator="type")
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
    StopCommand,
    FollowCommand,
    StartFrame,
    ForwardFrame,
    BackwardFrame,
    SummaryFrame,
    MetricsFrame,
    EndFrame,
    ErrorFrame,
)
