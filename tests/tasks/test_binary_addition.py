"""Binary addition: bits least significant first, targets that decode to a + b, the split."""

import numpy as np

from app.rnn import ModelConfig, Network
from app.tasks import TASKS
from app.tasks.binary_addition import all_pairs, encode, from_bits, metrics, to_bits


def test_bits_are_least_significant_first() -> None:
    np.testing.assert_array_equal(to_bits(np.array([6]), 4), [[0, 1, 1, 0]])
    np.testing.assert_array_equal(to_bits(np.array([1, 128]), 8)[:, [0, 7]], [[1, 0], [0, 1]])


def test_encoded_targets_decode_to_the_sum() -> None:
    a, b = np.array([0, 1, 100, 127, 85]), np.array([0, 1, 27, 127, 42])
    X, y = encode(a, b, 8)
    assert X.shape == (5, 8, 2) and y.shape == (5, 8, 1)
    np.testing.assert_array_equal(from_bits(X[:, :, 0]), a)
    np.testing.assert_array_equal(from_bits(X[:, :, 1]), b)
    np.testing.assert_array_equal(from_bits(y[:, :, 0]), [0, 2, 127, 254, 127])


def test_sampled_batches_decode_to_the_sums_in_their_meta() -> None:
    sample = TASKS["binary_addition"].sample(seed=5, batch_size=64)
    a, b = from_bits(sample.inputs[:, :, 0]), from_bits(sample.inputs[:, :, 1])
    np.testing.assert_array_equal(a, sample.meta["a"])
    np.testing.assert_array_equal(b, sample.meta["b"])
    np.testing.assert_array_equal(from_bits(sample.targets[:, :, 0]), a + b)
    assert a.max() < 128 and b.max() < 128


def test_all_pairs_are_the_128_by_128_whose_sum_fits_in_8_bits() -> None:
    a, b = all_pairs(8)
    assert len(a) == 128 * 128
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == 128 * 128
    assert (a + b).max() == 254


def test_accuracy_counts_whole_sums_and_bit_accuracy_each_bit() -> None:
    _, y = encode(np.array([3, 5]), np.array([1, 2]), 4)  # sums 4 = 0010, 7 = 1110 (LSB first)
    Y = y.copy()
    Y[0, 3, 0] = 0.9  # wrong top bit of the first sum
    result = metrics(Y, y)
    assert result["accuracy"] == 0.5
    assert result["bit_accuracy"] == [1.0, 1.0, 1.0, 0.5]


def test_training_data_holds_out_pairs_never_trained_on() -> None:
    data = TASKS["binary_addition"].make_data({}, seed=0, validation_fraction=None)
    assert data.X_val is not None
    train = {row.tobytes() for row in data.X_train}
    val = {row.tobytes() for row in data.X_val}
    assert len(train) + len(val) == 128 * 128
    assert not train & val
    assert len(val) == 128 * 128 // 2


def test_evaluate_reports_held_out_and_all_pairs_accuracy() -> None:
    task = TASKS["binary_addition"]
    data = task.make_data({"bits": 4}, seed=0, validation_fraction=0.25)
    net = Network(ModelConfig.from_dict(task.model_config({"bits": 4})))
    result = data.evaluate(net)
    for key in ("accuracy", "train_accuracy", "accuracy_all_pairs", "bit_accuracy"):
        assert key in result
    assert len(result["bit_accuracy"]) == 4
    assert 0.0 <= result["accuracy_all_pairs"] <= 1.0
