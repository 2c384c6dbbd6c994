"""Named presets that reproduce the classic tutorials, each one request away.

A preset is a model config, and — when it trains on a task — the training config and task
params of the tutorial it follows. Presets that share a `group` are meant to be run side by side
(sigmoid vs ReLU, uniform vs orthogonal init, vanilla RNN vs LSTM). Presets without a task
("SimpleRNN shapes", "rnn_forward (course)") exist to show shapes: `example_inputs(seed)` gives
random inputs of the tutorial's shape for a forward pass.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.rnn import ModelConfig
from app.rnn.arrays import Array
from app.tasks.base import Task, TaskError
from app.tasks.tutorial_settings import (
    CHAR_D2L_TRAINING,
    MEMORY_TRAINING,
    SINE_TUTORIAL_MODEL,
    SINE_TUTORIAL_TRAINING,
    SPIRAL_MODEL,
    SPIRAL_TRAINING,
    char_model,
)


@dataclass(frozen=True)
class Preset:
    """A tutorial's model (ModelConfig fields) and, if it trains, its task and training fields.

    `training` holds TrainingConfig fields except `task` and `task_params` (which come from
    `task` and `task_params`). `sequence` is (T, D) and `batch` the B of the example inputs.
    """

    name: str
    description: str
    model: dict[str, Any]
    task: str | None = None
    task_params: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    sequence: tuple[int, int] | None = None
    batch: int = 1

    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(dict(self.model))

    def training_fields(self) -> dict[str, Any] | None:
        """TrainingConfig fields, task and task_params included; None if it only shows shapes."""
        if self.task is None:
            return None
        return {**self.training, "task": self.task, "task_params": dict(self.task_params)}

    def example_inputs(self, seed: int = 0) -> Array:
        """Standard-normal inputs (batch, T, D) of the tutorial's shape, reproducible by seed."""
        if self.sequence is None:
            raise TaskError(f"preset {self.name!r} trains on a task; sample the task instead")
        T, D = self.sequence
        return np.random.default_rng(seed).standard_normal((self.batch, T, D))

    def check(self, tasks: Mapping[str, Task]) -> None:
        """Raise if the model cannot learn the task (sizes, output mode or loss)."""
        config = self.model_config()
        if self.task is not None:
            tasks[self.task].check_config(config, self.task_params)

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for the page."""
        return {
            "name": self.name,
            "description": self.description,
            "group": self.group,
            "model": dict(self.model),
            "task": self.task,
            "task_params": dict(self.task_params),
            "training": self.training_fields(),
            "example_shape": None
            if self.sequence is None
            else [self.batch, self.sequence[0], self.sequence[1]],
        }


def build_presets(tasks: Mapping[str, Task]) -> dict[str, Preset]:
    """The presets by name, sized from `tasks` (the shipped corpus fixes the char vocabulary)."""
    vocabulary_size = int(tasks["char_lm"].default_config["input_size"])
    copy_sizes = tasks["copy"].model_config({"length": 20})
    presets = [
        Preset(
            name="SimpleRNN shapes",
            description=(
                "Keras' SimpleRNN(100) on inputs of shape (250, 32): 250 steps of 32 features. "
                "W_xh is (32, 100), W_hh (100, 100) — square because it maps the state to the "
                "next state — and b_h (100,); the same three are used at every one of the 250 "
                "steps. Only the last step's output is kept: (100,). Keras returns H_T itself; "
                "here a 100 → 100 linear head follows, so O_T is (100,) too."
            ),
            model={
                "cell": "rnn",
                "input_size": 32,
                "hidden_size": 100,
                "output_size": 100,
                "nonlinearity": "tanh",
                "head": "identity",
                "loss": "mse",
                "output_mode": "last",
                "init": "xavier",
                "seed": 0,
            },
            sequence=(250, 32),
        ),
        Preset(
            name="rnn_forward (course)",
            description=(
                "The course's rnn_forward: n_x = 3 inputs, n_a = 5 hidden units, n_y = 2 "
                "outputs, T_x = 10 steps, m = 4 examples; a⟨t⟩ = tanh(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + "
                "b_a) and ŷ⟨t⟩ = softmax(W_ya a⟨t⟩ + b_y) at every step. The course stacks "
                "examples as columns, (n_a, m); here rows: W_xh = W_axᵀ (3, 5), W_hh = W_aaᵀ "
                "(5, 5), W_hq = W_yaᵀ (5, 2), and the course's x (n_x, m, T_x) is X (m, T_x, n_x)."
            ),
            model={
                "cell": "rnn",
                "input_size": 3,
                "hidden_size": 5,
                "output_size": 2,
                "nonlinearity": "tanh",
                "head": "softmax",
                "loss": "cross_entropy",
                "output_mode": "sequence",
                "init": "normal",
                "init_std": 1.0,
                "seed": 1,
            },
            sequence=(10, 3),
            batch=4,
        ),
        Preset(
            name="Char RNN (d2l)",
            description=(
                "d2l's character-level RNN: one-hot characters in, 256 tanh units, softmax out, "
                "windows of 35 characters drawn at random offsets, SGD at lr 1 with the "
                "gradient clipped to norm 1. Compare with the sequential sampling preset."
            ),
            model=char_model(vocabulary_size),
            task="char_lm",
            task_params={"seq_len": 35, "sampling": "random"},
            training=CHAR_D2L_TRAINING,
            group="char-rnn-sampling",
        ),
        Preset(
            name="Char RNN (d2l, sequential)",
            description=(
                "The same model with d2l's sequential partitioning: the text is cut into 32 "
                "streams read side by side, and the hidden state is carried from one window to "
                "the next (its gradient stops at the window boundary)."
            ),
            model=char_model(vocabulary_size),
            task="char_lm",
            task_params={"seq_len": 35, "sampling": "sequential"},
            training=CHAR_D2L_TRAINING,
            group="char-rnn-sampling",
        ),
        Preset(
            name="Sine, tutorial weights",
            description=(
                "The from-scratch tutorial: 50 past values of a sine, 100 sigmoid units, every "
                "weight drawn from uniform(0, 1), trained as the tutorial does (lr 1e-4, BPTT "
                "truncated to 5 steps). Each unit sums about 50 positive terms, so the sigmoid "
                "saturates: σ(A) rounds to 1, σ'(A) to 0, and ‖dL/dH_t‖ is zero from the first "
                "step back — watch it in the gradient view, next to the orthogonal tanh preset."
            ),
            model={**SINE_TUTORIAL_MODEL, "nonlinearity": "sigmoid", "init": "uniform"},
            task="sine",
            task_params={"length": 50, "mode": "next"},
            training=SINE_TUTORIAL_TRAINING,
            group="sine-init",
        ),
        Preset(
            name="Sine, tutorial's input at position t",
            description=(
                "The from-scratch tutorial's forward pass exactly: new_input is zero except x[t] "
                "at position t, so X_t = x_t·e_t has 50 inputs and W_xh (50, 100) is the "
                "tutorial's U transposed; step t multiplies row t of W_xh (column t of U), a "
                "different input weight at every step. W_hh (100, 100) = Wᵀ and W_hq (100, 1) = "
                "Vᵀ are the same at every step. 100 sigmoid units, weights from uniform(0, 1), "
                "zero biases (the tutorial has none)."
            ),
            model={
                **SINE_TUTORIAL_MODEL,
                "input_size": 50,
                "nonlinearity": "sigmoid",
                "init": "uniform",
            },
            task="sine",
            task_params={"length": 50, "mode": "next", "encoding": "position"},
            training=SINE_TUTORIAL_TRAINING,
        ),
        Preset(
            name="Sine, orthogonal tanh",
            description=(
                "The same network and training with tanh units and an orthogonal W_hh: every "
                "singular value of W_hh is 1 and tanh' = 1 at 0, so the gradient travels far "
                "further back before it fades."
            ),
            model={**SINE_TUTORIAL_MODEL, "nonlinearity": "tanh", "init": "orthogonal"},
            task="sine",
            task_params={"length": 50, "mode": "next"},
            training=SINE_TUTORIAL_TRAINING,
            group="sine-init",
        ),
        Preset(
            name="Binary addition",
            description=(
                "The 8-bit binary-addition tutorial: 2 → 16 → 1, sigmoid hidden and output "
                "units, weights uniform(−1, 1), squared error, plain gradient descent one pair "
                "at a time at its learning rate 0.1. The tutorial's error is ½ Σ_t (y − ŷ)² over "
                "the 8 steps; the loss here is the mean (1/8) Σ_t (y − ŷ)², a quarter of it, so "
                "lr 0.4 makes the tutorial's updates. (The biases, which the tutorial leaves "
                "out, start at zero and train too.)"
            ),
            model={
                "cell": "rnn",
                "input_size": 2,
                "hidden_size": 16,
                "output_size": 1,
                "nonlinearity": "sigmoid",
                "head": "sigmoid",
                "loss": "mse",
                "output_mode": "sequence",
                "init": "uniform_symmetric",
                "seed": 0,
            },
            task="binary_addition",
            task_params={"bits": 8},
            training={
                "optimizer": "sgd",
                "lr": 0.4,
                "batch_size": 1,
                "steps": 10000,
                "report_every": 500,
                "early_stop": {"metric": "accuracy", "target": 1.0},
            },
        ),
        *[
            Preset(
                name=f"Copy task, T = 20 ({label})",
                description=(
                    f"Remember 3 symbols across 20 blank steps with a {label}. "
                    + (
                        "The vanilla RNN's gradient fades over the delay: it learns the blanks "
                        "but guesses the symbols."
                        if cell == "rnn"
                        else "The gates let the memory, and its gradient, cross the delay."
                    )
                ),
                model={**copy_sizes, "cell": cell, "hidden_size": 64},
                task="copy",
                task_params={"length": 20},
                training=MEMORY_TRAINING,
                group="copy-memory",
            )
            for cell, label in (("rnn", "vanilla RNN"), ("gru", "GRU"), ("lstm", "LSTM"))
        ],
        *[
            Preset(
                name=f"Adding problem, T = 50 ({label})",
                description=(
                    f"Add the two marked numbers of a 50-step sequence with a {label}; "
                    "relative MSE 1 means it only learned to answer the mean."
                ),
                model={**tasks["adding"].model_config({"length": 50}), "cell": cell},
                task="adding",
                task_params={"length": 50},
                training=MEMORY_TRAINING,
                group="adding-memory",
            )
            for cell, label in (("rnn", "vanilla RNN"), ("gru", "GRU"), ("lstm", "LSTM"))
        ],
        *[
            Preset(
                name=f"Spiral ({label})",
                description=(
                    f"Three spirals, T = 1: a 2 → 50 → 50 → 3 feed-forward net with {label} "
                    "units, full-batch gradient descent. "
                    + (
                        "σ' ≤ 1/4 shrinks the gradient at every layer: compare the first "
                        "layer's gradient norm with the ReLU run's."
                        if nonlinearity == "sigmoid"
                        else "ReLU passes the gradient unchanged where a unit is active."
                    )
                ),
                model={**SPIRAL_MODEL, "nonlinearity": nonlinearity},
                task="spiral",
                training=SPIRAL_TRAINING,
                group="spiral-activation",
            )
            for nonlinearity, label in (("sigmoid", "sigmoid"), ("relu", "ReLU"))
        ],
    ]
    return {preset.name: preset for preset in presets}
