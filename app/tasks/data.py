"""Training data held by a session: a fixed array set, or a generator of fresh examples.

Both satisfy `TaskData` (see `base.py`).
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.rnn import Network
from app.rnn.arrays import Array
from app.tasks.base import Sample, Targets, example_size, forward_in_chunks
from app.tasks.metrics import Metrics

Scorer = Callable[[Array, Targets], Metrics]

# Enough to rank models and to show a curve; larger sets only slow the reports down.
_TRAIN_EVAL_LIMIT = 2048


class ArrayData:
    """Fixed examples split once into training and validation sets.

    X_*: (N, T, D); y_*: (N, T, Q) / (N, Q) or class indices. Each batch draws `batch_size`
    distinct training examples (all of them, shuffled, if the batch is as large as the set).
    `evaluate` scores the validation set, and adds "train_"-prefixed metrics on (at most 2048 of)
    the training set; without a validation set it scores the training set unprefixed.
    """

    carries_state = False

    def __init__(
        self,
        X_train: Array,
        y_train: Targets,
        X_val: Array | None,
        y_val: Targets | None,
        score: Scorer,
        extra: Callable[[Network], Metrics] | None = None,
    ) -> None:
        self.X_train, self.y_train = X_train, y_train
        self.X_val, self.y_val = X_val, y_val
        self.score = score
        self.extra = extra

    def batch(self, rng: np.random.Generator, batch_size: int) -> Sample:
        N = self.X_train.shape[0]
        index = rng.permutation(N) if batch_size >= N else rng.choice(N, batch_size, replace=False)
        return Sample(self.X_train[index], self.y_train[index], {})

    @property
    def validates(self) -> bool:
        """Whether `evaluate` scores held-out data (else the training data)."""
        return not (self.X_val is None or self.y_val is None or len(self.X_val) == 0)

    def evaluate(self, net: Network) -> Metrics:
        train_X, train_y = self.X_train[:_TRAIN_EVAL_LIMIT], self.y_train[:_TRAIN_EVAL_LIMIT]
        train = self.score(forward_in_chunks(net, train_X), train_y)
        if not self.validates or self.X_val is None or self.y_val is None:
            metrics = train
        else:
            metrics = self.score(forward_in_chunks(net, self.X_val), self.y_val)
            metrics.update({f"train_{k}": v for k, v in train.items()})
        if self.extra is not None:
            metrics.update(self.extra(net))
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


class GeneratedData:
    """An endless stream of fresh examples from `draw(rng, batch_size)`, validated on a fixed set
    of `validation_size` examples (fewer for long sequences, so that it holds at most
    `max_elements` numbers) drawn from a generator of its own, seeded apart from the session's.
    Where a task has few distinct inputs (the copy task's 4³ symbol strings) the validation set
    repeats patterns seen in training; continuous inputs never repeat."""

    carries_state = False

    def __init__(
        self,
        draw: Callable[[np.random.Generator, int], Sample],
        score: Scorer,
        seed: int,
        validation_size: int = 512,
        max_elements: int | None = None,
    ) -> None:
        self.draw = draw
        self.score = score
        rng = np.random.default_rng([seed, 0x5EED])
        count = validation_size
        if max_elements is not None:
            per_example = example_size(draw(np.random.default_rng(0), 1))
            count = max(16, min(validation_size, max_elements // per_example))
        self.validation = draw(rng, count)

    def batch(self, rng: np.random.Generator, batch_size: int) -> Sample:
        return self.draw(rng, batch_size)

    def evaluate(self, net: Network) -> Metrics:
        Y = forward_in_chunks(net, self.validation.inputs)
        return self.score(Y, self.validation.targets)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None


def split_indices(N: int, held_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """A seeded random split of range(N) → (train indices, validation indices)."""
    order = rng.permutation(N)
    return np.sort(order[held_out:]), np.sort(order[:held_out])
