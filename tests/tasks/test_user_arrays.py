"""The user's own arrays: one sequence or a batch, checked against the model, split by seed."""

import numpy as np
import pytest

from app.rnn import ModelConfig, Network
from app.tasks import TaskError
from app.tasks.user_arrays import array_data


def _net(**fields: object) -> Network:
    return Network(
        ModelConfig.from_dict({"input_size": 2, "hidden_size": 4, "output_size": 3, **fields})
    )


@pytest.mark.parametrize(
    ("fields", "targets_shape", "checked_shape"),
    [
        ({}, (5, 3), (1, 5, 3)),
        ({"output_mode": "last"}, (3,), (1, 3)),
        ({"head": "softmax", "loss": "cross_entropy"}, (5,), (1, 5)),
        ({"head": "softmax", "loss": "cross_entropy"}, (5, 3), (1, 5, 3)),
        ({"head": "softmax", "loss": "cross_entropy", "output_mode": "last"}, (), (1,)),
    ],
)
def test_one_sequence_gets_a_batch_axis_on_inputs_and_targets(
    fields: dict, targets_shape: tuple, checked_shape: tuple
) -> None:
    _, X, y = array_data(_net(**fields), np.zeros((5, 2)), np.zeros(targets_shape, int), None, 0)
    assert X.shape == (1, 5, 2) and y.shape == checked_shape


def test_a_batch_is_split_by_seed_without_overlap() -> None:
    X = np.arange(20 * 3 * 2, dtype=float).reshape(20, 3, 2)
    data, _, _ = array_data(_net(output_mode="last"), X, np.zeros((20, 3)), 0.25, seed=4)
    assert data.X_train.shape[0] == 15 and data.X_val.shape[0] == 5
    seen = {row.tobytes() for row in data.X_train} | {row.tobytes() for row in data.X_val}
    assert len(seen) == 20
    again, _, _ = array_data(_net(output_mode="last"), X, np.zeros((20, 3)), 0.25, seed=4)
    np.testing.assert_array_equal(again.X_val, data.X_val)


@pytest.mark.parametrize(
    ("inputs", "targets", "message"),
    [
        (np.zeros(4), np.zeros(3), r"inputs must be \(N, T, D\) or \(T, D\)"),
        (np.full((2, 3, 2), np.inf), np.zeros((2, 3, 3)), "inputs contain NaN or Inf"),
        (np.zeros((2, 3, 5)), np.zeros((2, 3, 3)), "data does not fit the model: inputs have"),
        (np.zeros((2, 3, 2)), np.zeros((2, 4, 3)), "data does not fit the model: targets have"),
        (np.zeros((2, 3, 2)), np.full((2, 3, 3), np.nan), "targets"),
    ],
)
def test_bad_arrays_are_refused_saying_what_is_wrong(
    inputs: np.ndarray, targets: np.ndarray, message: str
) -> None:
    with pytest.raises(TaskError, match=message):
        array_data(_net(), inputs, targets, None, 0)


def test_the_number_of_inputs_is_bounded_by_the_callers_limit() -> None:
    too_many = np.zeros((501, 1, 2))
    with pytest.raises(TaskError, match="inputs hold 1002 numbers; at most 1000 are allowed"):
        array_data(_net(), too_many, np.zeros((1, 1, 3)), None, 0, max_elements=1000)
