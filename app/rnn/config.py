"""The model configuration: one frozen dataclass, the same fields as the API's model config."""

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from app.rnn.errors import ConfigError

Cell = Literal["rnn", "lstm", "gru"]
Nonlinearity = Literal["tanh", "sigmoid", "relu", "identity"]
Head = Literal["identity", "softmax", "sigmoid"]
Loss = Literal["mse", "cross_entropy", "bce"]
OutputMode = Literal["sequence", "last"]
Init = Literal[
    "pytorch", "uniform", "uniform_symmetric", "normal", "xavier", "orthogonal", "identity"
]
DType = Literal["float64", "float32"]

# The choices as tuples, for messages and for the page (GET /api/v1/choices): read off the Literals.
CELLS: tuple[str, ...] = get_args(Cell)
NONLINEARITIES: tuple[str, ...] = get_args(Nonlinearity)
HEADS: tuple[str, ...] = get_args(Head)
LOSSES: tuple[str, ...] = get_args(Loss)
OUTPUT_MODES: tuple[str, ...] = get_args(OutputMode)
INITS: tuple[str, ...] = get_args(Init)
DTYPES: tuple[str, ...] = get_args(DType)

# Gates per cell: how many (H, H) blocks the stacked weight matrices hold (PyTorch's G).
GATES: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}

# A softmax head is trained with cross-entropy computed from the logits (as torch's
# CrossEntropyLoss does), a sigmoid head with BCE from the logits (BCEWithLogitsLoss); MSE goes
# with any head.
_LOSS_NEEDS_HEAD = {"cross_entropy": "softmax", "bce": "sigmoid"}


@dataclass(frozen=True)
class ModelConfig:
    """What a network is: cell, sizes, head, loss, how it is initialised and in which precision.

    `init_std` is σ of the "normal" initialiser; `seed` makes every initialiser reproducible.
    `forget_bias` (LSTM only) is added to the forget gate's initial bias: 1 keeps the cell's
    memory open at the start of training (Gers et al. 2000; Jozefowicz et al. 2015); 0 is
    PyTorch's initialisation.
    """

    input_size: int
    hidden_size: int
    output_size: int
    cell: Cell = "rnn"
    num_layers: int = 1
    nonlinearity: Nonlinearity = "tanh"
    head: Head = "identity"
    loss: Loss = "mse"
    output_mode: OutputMode = "sequence"
    init: Init = "pytorch"
    init_std: float = 0.01
    seed: int = 0
    dtype: DType = "float64"
    forget_bias: float = 0.0

    def __post_init__(self) -> None:
        _choose("cell", self.cell, CELLS)
        _choose("nonlinearity", self.nonlinearity, NONLINEARITIES)
        _choose("head", self.head, HEADS)
        _choose("loss", self.loss, LOSSES)
        _choose("output_mode", self.output_mode, OUTPUT_MODES)
        _choose("init", self.init, INITS)
        _choose("dtype", self.dtype, DTYPES)
        for name in ("input_size", "hidden_size", "output_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.cell != "rnn" and self.nonlinearity != "tanh":
            raise ConfigError(
                f"nonlinearity applies to the vanilla rnn only; {self.cell} uses its own gates "
                f"(got nonlinearity={self.nonlinearity!r})"
            )
        needed = _LOSS_NEEDS_HEAD.get(self.loss)
        if needed is not None and self.head != needed:
            raise ConfigError(f"loss {self.loss!r} needs head {needed!r}, got head {self.head!r}")
        if not (self.init_std > 0 and self.init_std < float("inf")):
            raise ConfigError(f"init_std must be a positive finite number, got {self.init_std!r}")
        bias = self.forget_bias
        if isinstance(bias, bool) or not isinstance(bias, int | float) or not abs(bias) <= 10:
            raise ConfigError(f"forget_bias must be a number in [-10, 10], got {bias!r}")
        if bias != 0 and self.cell != "lstm":
            raise ConfigError(
                f"forget_bias applies to the lstm only; {self.cell} has no forget gate "
                f"(got forget_bias={bias!r})"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def gates(self) -> int:
        """G: 1 for the rnn, 4 for the lstm (i, f, g, o), 3 for the gru (r, z, n)."""
        return GATES[self.cell]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        missing = [
            name for name in ("input_size", "hidden_size", "output_size") if name not in data
        ]
        if missing:
            raise ConfigError(f"missing config field(s): {', '.join(missing)}")
        return cls(**data)


def _choose(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
