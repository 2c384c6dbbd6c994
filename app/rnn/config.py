"""The model configuration: one frozen pydantic model, the API's model config itself.

pydantic checks every field (types strictly: `true` is not 1, "3" is not 3, though 3.0 is 3;
numbers finite) and the cross-field rules below; an invalid config raises pydantic's
ValidationError, which names the field. The same class validates a request body, a stored
config and a weights file's metadata.
"""

from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Cell = Literal["rnn", "lstm", "gru"]
Nonlinearity = Literal["tanh", "sigmoid", "relu", "identity"]
Head = Literal["identity", "softmax", "sigmoid"]
Loss = Literal["mse", "cross_entropy", "bce"]
OutputMode = Literal["sequence", "last"]
Init = Literal[
    "pytorch", "uniform", "uniform_symmetric", "normal", "xavier", "orthogonal", "identity"
]
DType = Literal["float64", "float32"]
Bias = Literal["one", "two", "none"]

# The choices as tuples, for messages and for the page (GET /api/v1/choices): read off the Literals.
CELLS: tuple[str, ...] = get_args(Cell)
NONLINEARITIES: tuple[str, ...] = get_args(Nonlinearity)
HEADS: tuple[str, ...] = get_args(Head)
LOSSES: tuple[str, ...] = get_args(Loss)
OUTPUT_MODES: tuple[str, ...] = get_args(OutputMode)
INITS: tuple[str, ...] = get_args(Init)
DTYPES: tuple[str, ...] = get_args(DType)
BIASES: tuple[str, ...] = get_args(Bias)


def _whole(value: Any) -> Any:
    """A JSON number with no fractional part as the integer it is (JSON Schema's "integer"
    includes 16.0); anything else goes on to strict validation unchanged."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


# An integer field read from JSON: 16 and 16.0 are the same integer, 16.5 and "16" are not.
Whole = Annotated[int, BeforeValidator(_whole)]
WholeOrNone = Annotated[int | None, BeforeValidator(_whole)]

# Gates per cell: how many (H, H) blocks the stacked weight matrices hold (PyTorch's G).
GATES: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}

# Fields that only some cells have: any other cell keeps the field at its default.
CELL_FIELDS: dict[str, tuple[str, ...]] = {"nonlinearity": ("rnn",), "forget_bias": ("lstm",)}

# A softmax head is trained with cross-entropy computed from the logits (as torch's
# CrossEntropyLoss does), a sigmoid head with BCE from the logits (BCEWithLogitsLoss); MSE goes
# with any head.
_LOSS_NEEDS_HEAD = {"cross_entropy": "softmax", "bce": "sigmoid"}


def _cross_field_rules(schema: dict[str, Any]) -> None:
    """The validator's rules between fields, said in the JSON Schema as well (if/then), so a
    schema-valid config is one the model accepts: a field of some cells only keeps its default
    in the others, and a loss computed from logits has its head."""
    rules: list[dict[str, Any]] = []
    default_cell = ModelConfig.model_fields["cell"].default
    for name, cells in CELL_FIELDS.items():
        default = ModelConfig.model_fields[name].default
        other_cell: dict[str, Any] = {"properties": {"cell": {"not": {"enum": list(cells)}}}}
        if default_cell in cells:  # an absent cell is the default one, which has the field
            other_cell["required"] = ["cell"]
        rules.append({"if": other_cell, "then": {"properties": {name: {"const": default}}}})
    rules.append(
        {
            "if": {"required": ["linear_head"], "properties": {"linear_head": {"const": False}}},
            "then": {"properties": {"head_bias": {"const": True}}},
        }
    )
    for loss, head in _LOSS_NEEDS_HEAD.items():
        rules.append(
            {
                "if": {"required": ["loss"], "properties": {"loss": {"const": loss}}},
                "then": {"required": ["head"], "properties": {"head": {"const": head}}},
            }
        )
    schema["allOf"] = rules


class ModelConfig(BaseModel):
    """What a network is: cell, sizes, head, loss, how it is initialised and in which precision.

    `init_std` is σ of the "normal" initialiser; `seed` makes every initialiser reproducible.
    `forget_bias` (LSTM only) is added to the forget gate's initial bias: 1 keeps the cell's
    memory open at the start of training (Gers et al. 2000; Jozefowicz et al. 2015); 0 is
    PyTorch's initialisation. The sizes have no upper bound here: the service bounds them by its
    settings.

    `bias` says which bias parameters a layer keeps: "one" (b_h, with the GRU's b_hn; the sum
    of PyTorch's two, the app's default), "two" (b_ih and b_hh, exactly PyTorch's bias_ih and
    bias_hh; the forward reads b_h = b_ih + b_hh) or "none" (PyTorch's bias=False).
    `linear_head` false: no W_hq, b_q; the output O_t is the top layer's H_t (as a bare
    torch.nn.LSTM or Keras' SimpleRNN returns it), so output_size must equal hidden_size.
    `head_bias` false: the linear head has W_hq and no b_q at all, O_t = H_t W_hq (PyTorch's
    Linear(bias=False), Keras' Dense(use_bias=False)); it applies to a linear head only.
    `bidirectional`: every layer runs twice, forward and over the time-reversed sequence
    (PyTorch's bidirectional=True); a layer above the first reads [H_fwd | H_bwd] (2H wide), and
    so does the head (or, without one, output_size must be 2H).
    """

    model_config = ConfigDict(
        frozen=True,
        strict=True,
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra=_cross_field_rules,
    )

    input_size: Whole = Field(ge=1, description="D, inputs per step")
    hidden_size: Whole = Field(ge=1, description="H, hidden units per layer")
    output_size: Whole = Field(ge=1, description="Q, outputs per step")
    cell: Cell = "rnn"
    num_layers: Whole = Field(1, ge=1, description="L, stacked recurrent layers")
    nonlinearity: Nonlinearity = Field("tanh", description="φ of the vanilla rnn")
    head: Head = "identity"
    loss: Loss = "mse"
    output_mode: OutputMode = Field(
        "sequence", description="sequence: an output at every step; last: at the final step"
    )
    init: Init = "pytorch"
    init_std: float = Field(0.01, gt=0, description="σ of the normal initialiser")
    seed: Whole = Field(0, ge=0, le=2**63 - 1)
    dtype: DType = "float64"
    bias: Bias = Field("one", description="one: b_h; two: PyTorch's b_ih, b_hh; none: no bias")
    linear_head: bool = Field(True, description="false: no W_hq, b_q; the output is H_t")
    head_bias: bool = Field(
        True, description="false: the linear head has no b_q (torch's Linear(bias=False))"
    )
    bidirectional: bool = Field(
        False, description="true: each layer also reads the sequence backwards (PyTorch's)"
    )
    forget_bias: float = Field(
        0.0,
        ge=-10,
        le=10,
        description="LSTM only: added to the forget gate's initial bias (1 keeps memory open)",
    )

    @model_validator(mode="after")
    def _fits_together(self) -> Self:
        for name, cells in CELL_FIELDS.items():
            value, default = getattr(self, name), type(self).model_fields[name].default
            if self.cell not in cells and value != default:
                raise ValueError(
                    f"{name} applies to the {' and '.join(cells)} only, not to the "
                    f"{self.cell} (got {name}={value!r})"
                )
        if not self.linear_head and self.output_size != self.directions * self.hidden_size:
            width = "hidden_size" if self.directions == 1 else "2 · hidden_size (bidirectional)"
            raise ValueError(
                f"a model without a linear head outputs H_t: output_size must equal {width} "
                f"(got output_size={self.output_size}, hidden_size={self.hidden_size})"
            )
        if not self.linear_head and not self.head_bias:
            raise ValueError(
                "head_bias applies to a linear head only: a model without one has no b_q "
                "(got head_bias=False with linear_head=False)"
            )
        needed = _LOSS_NEEDS_HEAD.get(self.loss)
        if needed is not None and self.head != needed:
            raise ValueError(f"loss {self.loss!r} needs head {needed!r}, got head {self.head!r}")
        return self

    @property
    def gates(self) -> int:
        """G: 1 for the rnn, 4 for the lstm (i, f, g, o), 3 for the gru (r, z, n)."""
        return GATES[self.cell]

    @property
    def directions(self) -> int:
        """1, or 2 for a bidirectional model (forward and reverse)."""
        return 2 if self.bidirectional else 1

    @property
    def top_size(self) -> int:
        """The width of the top layer's output, what the head reads: H, or 2H bidirectional."""
        return self.directions * self.hidden_size

    @property
    def has_b_q(self) -> bool:
        """True when the model has the head's bias b_q (Q,): a linear head with head_bias."""
        return self.linear_head and self.head_bias

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """A config from JSON-like data (a stored config, a file's metadata): ValidationError
        names the first field that is unknown, missing or invalid."""
        return cls.model_validate(data)
