"""Waveform classification (many-to-one) and the spiral (T = 1): values against known shapes."""

import numpy as np

from app.tasks import TASKS
from app.tasks.spiral import spirals
from app.tasks.waveforms import SHAPES, waves


def test_each_waveform_has_its_known_values() -> None:
    cycles = np.tile(np.array([0.0, 0.25, 0.5, 0.75]), (4, 1))
    values = waves(np.arange(4), cycles)
    np.testing.assert_allclose(values[0], [0, 1, 0, -1], atol=1e-12)  # sine
    np.testing.assert_array_equal(values[1], [1, 1, -1, -1])  # square
    np.testing.assert_array_equal(values[2], [1, 0, -1, 0])  # triangle
    np.testing.assert_array_equal(values[3], [-1, -0.5, 0, 0.5])  # sawtooth


def test_a_waveform_sample_is_a_sequence_in_and_one_label_out() -> None:
    sample = TASKS["waveforms"].sample(seed=0, batch_size=16, length=40, noise=0.0)
    assert sample.inputs.shape == (16, 40, 1) and sample.targets.shape == (16,)
    assert [SHAPES[k] for k in sample.targets] == sample.meta["shape"]
    square = sample.inputs[sample.targets == 1, :, 0]
    # Noise-free square waves take only two values, ± the amplitude.
    for row in square:
        assert len(np.unique(np.abs(row).round(12))) == 1
    assert TASKS["waveforms"].model_config()["output_mode"] == "last"


def test_spirals_have_one_arm_per_class_from_the_centre() -> None:
    X, labels = spirals(100, 3, 0.0, np.random.default_rng(0))
    assert X.shape == (300, 2)
    np.testing.assert_array_equal(np.bincount(labels), [100, 100, 100])
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[:100], np.linspace(0, 1, 100), atol=1e-12)


def test_a_spiral_sample_is_one_step_long() -> None:
    sample = TASKS["spiral"].sample(seed=0, batch_size=10, classes=4)
    assert sample.inputs.shape == (10, 1, 2) and sample.targets.max() < 4
    assert TASKS["spiral"].model_config({"classes": 4})["output_size"] == 4


def test_spiral_training_data_is_every_point_unless_validation_is_asked() -> None:
    data = TASKS["spiral"].make_data({}, seed=0, validation_fraction=None)
    assert data.X_train.shape == (300, 1, 2) and data.X_val is None
    held = TASKS["spiral"].make_data({}, seed=0, validation_fraction=0.2)
    assert held.X_train.shape[0] == 240 and held.X_val.shape[0] == 60
