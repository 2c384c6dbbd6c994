"""Proof that the default configs learn their tasks, measured on data never trained on.

Each test trains through the same TrainingSession the service runs and then checks the result
independently of the task's own metric code where it can (decoding the sums, recomputing the
MSE on fresh sequences, sampling text). The steps and seconds each took are printed (pytest -s).
"""

import re
import time

import numpy as np
import pytest

from app.tasks import PRESETS, TASKS
from app.tasks.binary_addition import all_pairs, encode, from_bits
from app.tasks.char_lm import corpus, generate, unigram_entropy, vocabulary_of
from app.training import TrainingConfig, TrainingSession

pytestmark = pytest.mark.slow


def test_binary_addition_default_config_gets_every_held_out_sum_right() -> None:
    config = TrainingConfig.for_task("binary_addition")
    session = TrainingSession(config)
    started = time.perf_counter()
    assert session.run() == "early_stopped"
    seconds = time.perf_counter() - started
    print(f"\nbinary addition: {session.step_count} steps, {seconds:.2f} s")
    # Recompute on the held-out pairs from scratch: decode the predicted bits to integers.
    data = session.data
    assert data.X_val is not None
    a, b = from_bits(data.X_val[:, :, 0]), from_bits(data.X_val[:, :, 1])
    train_a, train_b = from_bits(data.X_train[:, :, 0]), from_bits(data.X_train[:, :, 1])
    trained_on = set(zip(train_a, train_b, strict=True))
    assert not trained_on & set(zip(a, b, strict=True))  # never seen in training
    assert len(a) == 128 * 128 // 2
    predicted = from_bits((session.net.forward(data.X_val).Y[:, :, 0] > 0.5).astype(float))
    np.testing.assert_array_equal(predicted, a + b)
    # And over all 128 × 128 pairs.
    every_a, every_b = all_pairs(8)
    X, _ = encode(every_a, every_b, 8)
    everything = from_bits((session.net.forward(X).Y[:, :, 0] > 0.5).astype(float))
    np.testing.assert_array_equal(everything, every_a + every_b)
    assert session.step_count <= config.steps


def test_the_tutorials_binary_addition_preset_learns_with_the_tutorials_updates() -> None:
    preset = PRESETS["Binary addition"]
    session = TrainingSession(TrainingConfig.for_preset(preset.name), preset.model_config())
    started = time.perf_counter()
    assert session.run() == "early_stopped"
    print(
        f"\nbinary addition, tutorial preset: {session.step_count} steps, "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert session.latest["metrics"]["accuracy_all_pairs"] == 1.0


def test_sine_default_model_validation_mse_is_under_one_percent_of_the_variance() -> None:
    config = TrainingConfig.for_task("sine")
    session = TrainingSession(config)
    started = time.perf_counter()
    session.run()
    seconds = time.perf_counter() - started
    reported = session.latest["metrics"]["relative_mse"]
    # Fresh sequences from a seed the session never drew from.
    fresh = TASKS["sine"].sample(seed=12345, batch_size=1024)
    Y = session.net.forward(fresh.inputs).Y
    mse = float(np.mean((Y - fresh.targets) ** 2))
    ratio = mse / float(np.var(fresh.targets))
    print(
        f"\nsine: {session.step_count} steps, {seconds:.2f} s, validation MSE / variance "
        f"{reported:.2e}, fresh {ratio:.2e}"
    )
    assert reported < 0.01 and ratio < 0.01


CHAR_STEPS = 300


def test_char_lm_on_the_corpus_beats_the_unigram_entropy_and_samples_reproducibly() -> None:
    config = TrainingConfig.for_task("char_lm", steps=CHAR_STEPS, report_every=100)
    session = TrainingSession(config)  # the default model: GRU, 128 units
    started = time.perf_counter()
    assert session.run() == "finished"
    seconds = time.perf_counter() - started
    metrics = session.latest["metrics"]
    text = corpus()
    vocab = vocabulary_of(text)
    entropy = unigram_entropy(vocab.encode(text), len(vocab))
    print(
        f"\nchar LM: {CHAR_STEPS} steps, {seconds:.1f} s, validation loss {metrics['loss']:.3f} "
        f"nats/char (perplexity {metrics['perplexity']:.2f}) vs unigram entropy {entropy:.3f}"
    )
    assert np.isclose(metrics["unigram_entropy"], entropy, atol=0.02)
    assert metrics["loss"] < 0.5 * entropy
    assert np.isclose(metrics["perplexity"], np.exp(metrics["loss"]))

    sample = generate(session.net, vocab, "The ferryman", length=300, temperature=0.5, seed=7)
    again = generate(session.net, vocab, "The ferryman", length=300, temperature=0.5, seed=7)
    other = generate(session.net, vocab, "The ferryman", length=300, temperature=0.5, seed=8)
    print(f"sample at temperature 0.5, seed 7: {sample!r}")
    assert sample == again and sample != other
    # What it writes is mostly the corpus's own words.
    corpus_words = set(re.findall(r"[A-Za-z]+", text))
    words = re.findall(r"[A-Za-z]+", sample)[:-1]  # the last word may be cut off
    known = sum(word in corpus_words for word in words)
    assert len(words) > 20 and known / len(words) > 0.8


def test_spiral_relu_learns_faster_than_sigmoid_with_the_same_budget() -> None:
    """The classic contrast: same net, same budget; σ' ≤ 1/4 starves the first layer."""
    accuracy, first_layer = {}, {}
    for name in ("Spiral (sigmoid)", "Spiral (ReLU)"):
        records: list[dict] = []
        config = TrainingConfig.for_preset(name, steps=300, report_every=50)
        session = TrainingSession(config, PRESETS[name].model_config(), on_progress=records.append)
        session.run()
        accuracy[name] = session.latest["metrics"]["accuracy"]
        first_layer[name] = records[0]["grad_norms"]["layer0.W_xh"]  # at step 50
    print(f"\nspiral after 300 steps: {accuracy}; ‖dW_xh‖ of layer 0 at step 50: {first_layer}")
    assert accuracy["Spiral (ReLU)"] > 0.95
    assert accuracy["Spiral (ReLU)"] > accuracy["Spiral (sigmoid)"] + 0.1
    assert first_layer["Spiral (sigmoid)"] < 0.25 * first_layer["Spiral (ReLU)"]


@pytest.mark.parametrize(
    ("task", "metric", "bound"),
    [
        ("copy", "sequence_accuracy", 0.99),
        ("adding", "relative_mse", 0.01),
        ("waveforms", "accuracy", 0.97),
        ("spiral", "accuracy", 0.97),
        ("csv_forecast", "relative_mse", 0.01),
    ],
)
def test_every_other_tasks_default_config_works(task: str, metric: str, bound: float) -> None:
    session = TrainingSession(TrainingConfig.for_task(task))
    started = time.perf_counter()
    session.run()
    value = session.latest["metrics"][metric]
    seconds = time.perf_counter() - started
    print(f"\n{task}: {session.step_count} steps, {seconds:.1f} s, {metric} {value:.4f}")
    if metric == "relative_mse":
        assert value <= bound
    else:
        assert value >= bound
