"""The settings of the tutorials that several presets share (app/tasks/presets.py): their
models' fields and their training configs, as ModelConfig and TrainingConfig fields."""

from typing import Any

SINE_TUTORIAL_TRAINING = {
    # The tutorial's plain gradient descent with a small rate and BPTT truncated to 5 steps;
    # its element-wise clip to ±10 becomes a global-norm clip here.
    "optimizer": "sgd",
    "lr": 1e-4,
    "batch_size": 1,
    "truncate": 5,
    "clip": 10.0,
    "steps": 2000,
    "report_every": 100,
}
SINE_TUTORIAL_MODEL = {
    "cell": "rnn",
    "input_size": 1,
    "hidden_size": 100,
    "output_size": 1,
    "head": "identity",
    "loss": "mse",
    "output_mode": "last",
    "seed": 0,
}
CHAR_D2L_MODEL = {
    "cell": "rnn",
    "hidden_size": 256,
    "nonlinearity": "tanh",
    "head": "softmax",
    "loss": "cross_entropy",
    "output_mode": "sequence",
    "init": "pytorch",
    "seed": 0,
}
CHAR_D2L_TRAINING = {
    # d2l's rnn-concise: minibatch SGD at lr 1 with the gradient clipped to norm 1.
    "optimizer": "sgd",
    "lr": 1.0,
    "batch_size": 32,
    "clip": 1.0,
    "steps": 2000,
    "report_every": 100,
}
MEMORY_TRAINING = {
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 32,
    "clip": 1.0,
    "steps": 1500,
    "report_every": 100,
}
SPIRAL_MODEL = {
    "cell": "rnn",
    "input_size": 2,
    "hidden_size": 50,
    "output_size": 3,
    "num_layers": 2,
    "head": "softmax",
    "loss": "cross_entropy",
    "output_mode": "last",
    "init": "xavier",
    "seed": 0,
}
SPIRAL_TRAINING = {
    "optimizer": "sgd",
    "lr": 1.0,
    "batch_size": 300,
    "steps": 1000,
    "report_every": 100,
}


def char_model(vocabulary_size: int) -> dict[str, Any]:
    """d2l's character model for a vocabulary of that size (one-hot in, softmax out)."""
    return {**CHAR_D2L_MODEL, "input_size": vocabulary_size, "output_size": vocabulary_size}
