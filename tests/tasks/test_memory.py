"""Copy task and adding problem: layouts, targets and what chance looks like."""

import numpy as np

from app.tasks import TASKS
from app.tasks.memory import adding_metrics, copy_metrics


def test_copy_inputs_hold_symbols_blanks_and_the_marker() -> None:
    sample = TASKS["copy"].sample(seed=0, batch_size=5, length=7, symbols=3, alphabet=4)
    T = 3 + 7 + 3
    assert sample.inputs.shape == (5, T, 6) and sample.targets.shape == (5, T)
    tokens = np.argmax(sample.inputs, axis=-1)
    np.testing.assert_array_equal(sample.inputs.sum(axis=-1), 1.0)  # one-hot
    np.testing.assert_array_equal(tokens[:, :3], sample.meta["symbols"])
    np.testing.assert_array_equal(tokens[:, 3 + 7 - 1], 5)  # recall marker
    assert (tokens[:, 3 : 3 + 6] == 4).all() and (tokens[:, -3:] == 4).all()  # blanks


def test_copy_targets_are_blank_then_the_symbols_in_order() -> None:
    sample = TASKS["copy"].sample(seed=1, batch_size=4, length=5)
    np.testing.assert_array_equal(sample.targets[:, -3:], sample.meta["symbols"])
    assert (sample.targets[:, :-3] == 4).all()


def test_copy_accuracy_scores_the_recalled_symbols() -> None:
    sample = TASKS["copy"].sample(seed=2, batch_size=8, length=4)
    perfect = np.eye(5)[sample.targets]
    result = copy_metrics(perfect, sample.targets, {"symbols": 3})
    assert result["accuracy"] == 1.0 and result["sequence_accuracy"] == 1.0
    assert "chance" not in result  # the chance level is the task's metric description
    assert TASKS["copy"].describe_metrics({"symbols": 3})["accuracy"]["chance"] == 0.25
    blank_only = np.eye(5)[np.full_like(sample.targets, 4)]
    assert copy_metrics(blank_only, sample.targets, {"symbols": 3})["accuracy"] == 0.0


def test_copy_model_sizes_follow_the_alphabet() -> None:
    config = TASKS["copy"].model_config({"alphabet": 8})
    assert (config["input_size"], config["output_size"]) == (10, 9)


def test_adding_target_is_the_sum_of_the_two_marked_values() -> None:
    sample = TASKS["adding"].sample(seed=3, batch_size=50, length=40)
    values, marks = sample.inputs[:, :, 0], sample.inputs[:, :, 1]
    np.testing.assert_array_equal(marks.sum(axis=1), 2.0)
    np.testing.assert_allclose(sample.targets[:, 0], (values * marks).sum(axis=1), atol=1e-12)
    first, second = np.array(sample.meta["marked"]).T
    assert (first < 20).all() and (second >= 20).all()  # one mark in each half
    assert ((values >= 0) & (values < 1)).all()


def test_adding_relative_mse_of_always_answering_one_is_about_one() -> None:
    sample = TASKS["adding"].sample(seed=4, batch_size=1024, length=10)
    result = adding_metrics(np.ones_like(sample.targets), sample.targets)
    assert abs(result["mse"] - 1 / 6) < 0.02
    assert 0.9 < result["relative_mse"] < 1.1
    assert adding_metrics(sample.targets, sample.targets)["accuracy"] == 1.0
