"""The settings' bounds on every size a client controls, as checks that name the field, and as
the arguments the tasks and training sessions take (they keep no bounds of their own)."""

from app.rnn import ModelConfig
from app.services.errors import LimitError
from app.settings import Settings
from app.tasks import SizeLimits

__all__ = ["Limits"]


class Limits:
    """Checks against one Settings; each raises LimitError naming the field and the setting."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.task_limits = SizeLimits(
            max_batch=settings.max_batch,
            max_elements=settings.max_elements,
            max_text_bytes=settings.max_text_length,
            max_input_size=settings.max_input_size,
        )

    def check(
        self, field: str, what: str, setting: str, got: float, status_code: int = 422
    ) -> None:
        limit = getattr(self.settings, setting)
        if got > limit:
            raise LimitError(field, what, setting, limit, got, status_code)

    def config(self, config: ModelConfig) -> None:
        self.check("config.input_size", "D", "max_input_size", config.input_size)
        self.check("config.hidden_size", "H", "max_hidden_size", config.hidden_size)
        self.check("config.output_size", "Q", "max_output_size", config.output_size)
        self.check("config.num_layers", "L", "max_layers", config.num_layers)

    def data(self, config: ModelConfig, B: int, T: int, field: str = "inputs") -> None:
        self.check(field, "the batch size B", "max_batch", B)
        self.check(field, "the number of steps T", "max_steps", T)
        L = config.num_layers * config.directions  # a bidirectional layer counts twice
        width = config.input_size + L * config.gates * config.hidden_size
        self.check(field, "the trace size B·T·(D + L·G·H)", "max_elements", B * T * width)

    def answer(self, config: ModelConfig, B: int, T: int, field: str = "inputs") -> None:
        """What a forward or backward pass over (B, T) inputs holds and answers, before it is
        computed: per step and sequence the outputs, logits and dO (3·Q), and per layer H, A
        (G·H), the gates and the cell state ((G + 1)·H) or their gradients: (2G + 2)·H."""
        G, H, Q = config.gates, config.hidden_size, config.output_size
        L = config.num_layers * config.directions
        size = B * T * (3 * Q + L * (2 * G + 2) * H)
        what = "the answer's size B·T·(3·Q + L·(2G + 2)·H)"
        self.check(field, what, "max_answer_elements", size)

    def step_grads(self, config: ModelConfig, T: int) -> None:
        G, H = config.gates, config.hidden_size
        d = config.directions
        width = d * (config.input_size + H + (config.num_layers - 1) * (d + 1) * H)
        what = "the size of the per-step gradients T·(D + H)·G·H"
        self.check("step_grads", what, "max_step_grads_elements", T * width * G * H)

    def jacobian_cost(self, config: ModelConfig, T: int) -> int:
        return T * config.gates * config.hidden_size**2 * config.num_layers * config.directions

    def jacobian(self, config: ModelConfig, T: int) -> None:
        what = "the cost T·G·H²·L"
        self.check("jacobian", what, "max_jacobian_elements", self.jacobian_cost(config, T))

    def connectivity(self, config: ModelConfig, T: int) -> None:
        """One pass over Q copies of the sequence: bound like a batch of Q."""
        L = config.num_layers * config.directions
        width = config.input_size + L * config.gates * config.hidden_size
        what = "the cost Q·T·(D + L·G·H) of the Q seeds"
        self.check("inputs", what, "max_elements", config.output_size * T * width)

    def upload(self, size: int) -> None:
        self.check("weights", "the file size in bytes", "max_upload_bytes", size, 413)
