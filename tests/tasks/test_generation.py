"""The sampler's pieces: the next distribution (temperature, top-k), the documented start."""

import numpy as np
import pytest

from app.rnn import ModelConfig, Network
from app.tasks import TaskError
from app.tasks.generation import next_distribution, sample_text, start_character


def test_the_next_distribution_is_the_tempered_softmax_of_the_top_k() -> None:
    logits = np.array([2.0, -1.0, 0.5, 3.0, 0.0])
    for temperature in (0.3, 1.0, 4.0):
        expected = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
        np.testing.assert_allclose(next_distribution(logits, temperature), expected, rtol=1e-14)
        top = np.exp(logits[[3, 0]] / temperature)
        kept = np.zeros(5)
        kept[[3, 0]] = top / top.sum()
        np.testing.assert_allclose(next_distribution(logits, temperature, 2), kept, rtol=1e-14)
    assert next_distribution(logits, 1.0, 1).tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(next_distribution(logits, 1.0, 9), next_distribution(logits, 1.0))
    # a vanishing temperature is greedy, without overflow
    assert next_distribution(logits, 1e-300).tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_logits_that_are_not_finite_are_refused() -> None:
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(TaskError, match="not finite"):
            next_distribution(np.array([0.0, bad]), 1.0)


def test_an_empty_prefix_reads_a_newline_else_a_space_else_the_first_character() -> None:
    assert start_character(["\n", " ", "a"]) == "\n"
    assert start_character([" ", "a"]) == " "
    assert start_character(["a", "b"]) == "a"
    net = Network(ModelConfig(input_size=3, hidden_size=4, output_size=3, seed=1))
    chars = ["a", "b", "c"]
    empty = sample_text(net, chars, "", 8, seed=2)
    assert empty.start == "a" and empty.prefix == "" and len(empty.text) == 8
    assert empty.continuation == sample_text(net, chars, "a", 8, seed=2).continuation
    assert sample_text(net, chars, "a", 8, seed=2).start is None


def test_a_bidirectional_model_is_not_a_character_model_to_generate_with() -> None:
    from app.tasks.generation import check_character_model

    chars = list("ab\n")
    sizes = {"input_size": 3, "hidden_size": 4, "output_size": 3}
    check_character_model(Network(ModelConfig(**sizes)), chars)
    with pytest.raises(TaskError, match="bidirectional"):
        check_character_model(Network(ModelConfig(**sizes, bidirectional=True)), chars)
