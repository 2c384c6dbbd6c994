"""Sine wave: windows of the signal and the next value, many-to-one and sequence to sequence."""

import numpy as np

from app.tasks import TASKS
from app.tasks.sine import metrics


def test_next_value_targets_continue_the_window() -> None:
    sample = TASKS["sine"].sample(
        seed=0, batch_size=3, length=20, frequency=0.1, random_phase=False, phase=0.5
    )
    assert sample.inputs.shape == (3, 20, 1) and sample.targets.shape == (3, 1)
    t = np.arange(21)
    expected = np.sin(2 * np.pi * 0.1 * t + 0.5)
    np.testing.assert_allclose(sample.inputs[0, :, 0], expected[:20], atol=1e-12)
    np.testing.assert_allclose(sample.targets[:, 0], expected[20], atol=1e-12)


def test_sequence_mode_targets_are_the_inputs_shifted_by_one() -> None:
    sample = TASKS["sine"].sample(seed=1, batch_size=2, length=30, mode="sequence")
    assert sample.targets.shape == (2, 30, 1)
    np.testing.assert_allclose(sample.targets[:, :-1], sample.inputs[:, 1:], atol=1e-12)


def test_noise_is_added_to_the_inputs_only() -> None:
    clean = TASKS["sine"].sample(seed=2, batch_size=4, mode="sequence")
    noisy = TASKS["sine"].sample(seed=2, batch_size=4, mode="sequence", noise=0.3)
    np.testing.assert_allclose(noisy.targets, clean.targets)
    assert 0.2 < np.std(noisy.inputs - clean.inputs) < 0.4


def test_sequence_mode_asks_for_a_sequence_output() -> None:
    assert TASKS["sine"].model_config({"mode": "sequence"})["output_mode"] == "sequence"
    assert TASKS["sine"].model_config()["output_mode"] == "last"


def test_relative_mse_divides_by_the_targets_variance() -> None:
    targets = np.array([[1.0], [-1.0], [1.0], [-1.0]])  # variance 1
    result = metrics(targets + 0.1, targets)
    assert np.isclose(result["mse"], 0.01) and np.isclose(result["relative_mse"], 0.01)


def test_relative_mse_of_constant_targets_is_none_not_nan() -> None:
    result = metrics(np.zeros((3, 1)), np.ones((3, 1)))
    assert result == {"mse": 1.0, "relative_mse": None}


def test_position_encoding_puts_x_t_at_position_t_of_a_t_vector() -> None:
    value = TASKS["sine"].sample(seed=4, batch_size=2, length=12)
    position = TASKS["sine"].sample(seed=4, batch_size=2, length=12, encoding="position")
    assert position.inputs.shape == (2, 12, 12)
    for b in range(2):
        np.testing.assert_array_equal(position.inputs[b], np.diag(value.inputs[b, :, 0]))
    np.testing.assert_array_equal(position.targets, value.targets)
    assert TASKS["sine"].model_config({"length": 12, "encoding": "position"})["input_size"] == 12
    assert TASKS["sine"].model_config({"length": 12})["input_size"] == 1
