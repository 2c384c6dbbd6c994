"""Bodies of the models' routes: create, read, forward, backward."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.rnn.config import ModelConfig, Whole, WholeOrNone
from app.rnn.network import StepGrads
from app.web.schemas.common import NumberArray, NumberOrArray, RequestBody


class CreateModelRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "config": {
                        "cell": "rnn",
                        "input_size": 1,
                        "hidden_size": 16,
                        "output_size": 1,
                        "output_mode": "last",
                    },
                    "name": "sine predictor",
                }
            ]
        },
    )

    config: ModelConfig = Field(
        description="a model made here has its linear head (one without comes from an import)",
        json_schema_extra={"properties": {"linear_head": {"const": True}}},
    )
    name: str = Field("", max_length=200)

    @field_validator("config")
    @classmethod
    def _has_a_head(cls, config: ModelConfig) -> ModelConfig:
        if not config.linear_head:
            raise ValueError(
                "linear_head: a model made here has its linear head; one without (outputs "
                "H_t) comes from an import of weights that have none"
            )
        return config


class ModelInfo(BaseModel):
    id: str
    name: str
    config: dict[str, Any]
    created_at: float = Field(description="seconds since the epoch")
    updated_at: float
    weights_version: int = Field(description="incremented whenever training saves weights")
    parameter_count: int
    shapes: dict[str, list[int]] = Field(description="PyTorch names and shapes")


class ForwardRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"inputs": [[0.0], [0.5], [1.0]]}]},
    )

    inputs: NumberArray = Field(description="(T, D) one sequence, or (B, T, D) a batch")
    h0: NumberArray | None = Field(
        None,
        description="(L, H) or (L, B, H), L = layers (× 2 bidirectional, PyTorch's h_0 order); "
        "zeros if absent",
    )
    c0: NumberArray | None = Field(None, description="the LSTM's initial cell state, like h0")
    lengths: NumberArray | None = Field(
        None,
        description="(B,) each sequence's real steps, whole numbers in 1…T; steps t ≥ "
        "lengths[b] are padding (as pack_padded_sequence has it); absent: all T",
    )


class BackwardRequest(ForwardRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"inputs": [[0.0], [0.5], [1.0]], "targets": [0.5]}]},
    )

    targets: NumberOrArray = Field(
        description="(T_out, Q) / (B, T_out, Q); class indices (T_out,) / (B, T_out) for "
        "cross-entropy; T_out = T in 'sequence' mode, absent in 'last' mode"
    )
    truncate: WholeOrNone = Field(None, ge=1, description="truncated BPTT every k steps")
    step_grads: StepGrads = Field(
        "norms", description="each step's contribution to the weight gradients"
    )
    jacobian: bool | None = Field(
        None,
        description="‖∂H_T/∂H_t‖ per layer: true always, false never, absent when cheap",
    )


class ConnectivityRequest(ForwardRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"inputs": [[0.0], [0.5], [1.0]], "t": 2}]},
    )

    t: Whole = Field(ge=0, le=10**6, description="the output step: 0…T−1, or T−1 in 'last' mode")


class ConnectivityResponse(BaseModel):
    t: int
    norms: list[float] = Field(description="(T,) ‖∂Y_t/∂X_s‖_F for s = 0…T−1, sequence 0")
    output_steps: list[int] = Field(description="the input steps that have an output")
    reach_90: int = Field(description="the fewest last steps s ≤ t holding 90% of Σ norms²")


class LayerForward(BaseModel):
    H: NumberArray = Field(description="(T, H) hidden states")
    A: NumberArray | None = Field(
        None, description="(T, G·H) pre-activations, gates in PyTorch order; not with fields=states"
    )
    gates: dict[str, NumberArray] | None = Field(
        None, description="lstm i, f, g, o, C; gru r, z, n; not with fields=states"
    )
    C: NumberArray | None = Field(None, description="(T, H) LSTM cell states, with fields=states")
    reverse: "LayerForward | None" = Field(
        None,
        description="bidirectional: the reverse direction's H, A, gates, indexed by input step",
    )


class FinalState(BaseModel):
    h: NumberArray = Field(description="(L, H), L = layers (× 2 bidirectional): PyTorch's h_n")
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
    dA: NumberArray | None = Field(
        None, description="(T, G·H) dL/d(pre-activation); not with fields=states"
    )
    dH_norm: list[float] = Field(description="(T,) ‖dL/dH_t‖ over batch and units")
    step_grad_norms: dict[str, list[float]] = Field(description="W_xh, W_hh, b_h (b_hn): (T,)")
    step_grads: dict[str, NumberArray] | None = Field(None, description="with step_grads=full")
    jacobian_norms: list[float] | None = Field(None, description="(T,) ‖∂H_T/∂H_t‖, sequence 0")
    dC: NumberArray | None = Field(None, description="(T, H) total dL/dC_t, sequence 0; LSTM only")
    reverse: "LayerBackward | None" = Field(
        None,
        description="bidirectional: the reverse direction's dH, dA, dC, dH_norm (by input "
        "step) and step_grad_norms (by the reverse direction's own steps)",
    )


class HeadBackward(BaseModel):
    step_grad_norms: dict[str, list[float]] = Field(
        description="W_hq, b_q (none without head_bias): (T_out,)"
    )


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


class ShareLink(BaseModel):
    """A read-only capability for one model: send `token` as `X-Share-Token` (or `?share=`)."""

    model_id: str
    token: str
    url: str = Field(description="the page's link that opens the model with the token")


class TokenInfo(BaseModel):
    """A bearer token for the caller's owner identity, shown once (only its hash is kept)."""

    token: str
    owner: str = Field(description="the owner id the token acts as")
