"""Character-level LM: vocabulary, windows, sequential streams, generation, perplexity, corpus."""

import numpy as np
import pytest

from app.rnn import ModelConfig, Network
from app.tasks import TASKS, SizeLimits, TaskError
from app.tasks.char_lm import (
    CORPUS_PATH,
    CharData,
    Vocabulary,
    corpus,
    generate,
    metrics,
    unigram_entropy,
    vocabulary,
    vocabulary_of,
)
from app.tasks.corpus.generate import generate as generate_corpus

TEXT = "the cat sat on the mat. " * 20


def test_vocabulary_is_the_sorted_characters_and_round_trips() -> None:
    vocab = Vocabulary("banana!")
    assert vocab.chars == ["!", "a", "b", "n"]
    ids = vocab.encode("nab!")
    np.testing.assert_array_equal(ids, [3, 1, 2, 0])
    assert vocab.decode(ids) == "nab!"
    np.testing.assert_array_equal(vocab.one_hot(ids)[0], [0, 0, 0, 1])
    with pytest.raises(TaskError, match="'z' is not in the vocabulary"):
        vocab.encode("z")


def test_the_vocabulary_size_is_bounded_by_the_callers_input_size_limit() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(257))
    limits = SizeLimits(max_batch=8, max_elements=10**6, max_text_bytes=10**6, max_input_size=256)
    with pytest.raises(TaskError, match="make input_size 257; at most 256 is allowed"):
        TASKS["char_lm"].sample(0, 1, limits=limits, text=text)
    assert len(Vocabulary(text)) == 257  # the vocabulary itself knows no bound


def test_sampled_targets_are_the_next_characters() -> None:
    sample = TASKS["char_lm"].sample(seed=0, batch_size=3, text=TEXT, seq_len=10)
    vocab = vocabulary_of(TEXT)
    assert sample.inputs.shape == (3, 10, len(vocab)) and sample.targets.shape == (3, 10)
    for row in range(3):
        window = sample.meta["text"][row]
        assert vocab.decode(np.argmax(sample.inputs[row], axis=-1)) == window
        assert vocab.decode(sample.targets[row]) == sample.meta["target_text"][row]
        assert sample.meta["target_text"][row][:-1] == window[1:]
        assert window in TEXT


def test_model_sizes_follow_the_vocabulary() -> None:
    config = TASKS["char_lm"].model_config({"text": "abcabc"})
    assert config["input_size"] == config["output_size"] == 3
    default = TASKS["char_lm"].model_config()
    assert default["input_size"] == len(set(corpus()))


def test_text_shorter_than_a_window_is_rejected() -> None:
    with pytest.raises(TaskError, match="seq_len 32 needs at least 33"):
        TASKS["char_lm"].sample(text="short")


def test_the_validation_part_is_the_end_of_the_text() -> None:
    params = TASKS["char_lm"].validate({"text": TEXT, "seq_len": 8})
    data = CharData(params, 0.25)
    vocab = data.vocab
    cut = len(TEXT) - round(0.25 * len(TEXT))
    assert vocab.decode(data.train_ids) == TEXT[:cut]
    assert vocab.decode(data.val_ids) == TEXT[cut:]


def test_sequential_batches_continue_each_other_and_reset_at_each_pass() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(400))
    params = TASKS["char_lm"].validate({"text": text, "seq_len": 5, "sampling": "sequential"})
    data = CharData(params, 0.0)
    assert data.carries_state
    rng = np.random.default_rng(0)
    first, second = data.batch(rng, 4), data.batch(rng, 4)
    assert first.meta["reset_state"] and not second.meta["reset_state"]
    vocab = data.vocab
    for stream in range(4):
        a = vocab.decode(np.argmax(first.inputs[stream], axis=-1))
        b = vocab.decode(np.argmax(second.inputs[stream], axis=-1))
        assert (a + b) in text  # the second window starts where the first ended
    per_pass = ((400 - 1) // 4) // 5
    for _ in range(per_pass - 2):
        data.batch(rng, 4)
    assert data.batch(rng, 4).meta["reset_state"]  # a new pass begins
    assert data.state_dict() == {"cursor": 1}


def test_sequential_sampling_needs_enough_text_for_the_streams() -> None:
    params = TASKS["char_lm"].validate({"text": "abcdefghij" * 4, "seq_len": 8})
    data = CharData({**params, "sampling": "sequential"}, 0.0)
    with pytest.raises(TaskError, match="too short for batch_size 8 streams of seq_len 8"):
        data.batch(np.random.default_rng(0), 8)


def test_perplexity_of_a_uniform_guess_is_the_vocabulary_size() -> None:
    targets = np.array([[0, 1, 2, 3]])
    result = metrics(np.full((1, 4, 4), 0.25), targets)
    assert np.isclose(result["loss"], np.log(4))
    assert np.isclose(result["perplexity"], 4.0)
    assert np.isclose(result["bits_per_char"], 2.0)


def test_unigram_entropy_of_known_frequencies() -> None:
    assert np.isclose(unigram_entropy(np.array([0, 0, 1, 1]), 2), np.log(2))
    p = np.array([0.5, 0.25, 0.25])
    assert np.isclose(unigram_entropy(np.array([0, 0, 1, 2]), 3), -(p * np.log(p)).sum())


def _small_lm(text: str) -> Network:
    size = len(vocabulary_of(text))
    config = TASKS["char_lm"].model_config({"text": text})
    return Network(ModelConfig.from_dict({**config, "hidden_size": 8, "input_size": size}))


def test_generation_is_reproducible_by_seed_and_stays_in_the_vocabulary() -> None:
    net = _small_lm(TEXT)
    vocab = vocabulary_of(TEXT)
    first = generate(net, vocab, "the ", length=40, temperature=0.8, seed=3)
    again = generate(net, "".join(vocab.chars), "the ", length=40, temperature=0.8, seed=3)
    other = generate(net, vocab, "the ", length=40, temperature=0.8, seed=4)
    assert first == again and first != other
    assert len(first) == 40 and set(first) <= set(TEXT)


def test_generation_continues_the_prompts_state() -> None:
    """Feeding prompt + continuation in one pass gives the same last state as step by step."""
    net = _small_lm(TEXT)
    vocab = vocabulary_of(TEXT)
    continuation = generate(net, vocab, "on the", length=5, temperature=0.01, seed=0)
    ids = vocab.encode("on the" + continuation)
    probabilities = net.forward(vocab.one_hot(ids)[None]).Y[0]
    greedy = np.argmax(probabilities[5:-1], axis=-1)  # the choice after each fed character
    assert vocab.decode(greedy) == continuation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0.0}, r"temperature must lie in \(0, 10\]"),
        ({"temperature": -1.0}, r"temperature must lie in \(0, 10\]"),
        ({"temperature": 11.0}, r"temperature must lie in \(0, 10\]"),
        ({"length": 0}, "length must be a positive integer"),
        ({"length": 2.5}, "length must be a positive integer"),
        ({"prompt": ""}, "prompt must hold at least one character"),
        ({"prompt": "xyzx"}, "outside the model's vocabulary: 'x', 'y', 'z'$"),
    ],
)
def test_generation_bounds_are_checked(kwargs: dict, message: str) -> None:
    net = _small_lm(TEXT)
    arguments = {"prompt": "the", "length": 10, "temperature": 1.0, **kwargs}
    with pytest.raises(TaskError, match=message):
        generate(net, vocabulary_of(TEXT), **arguments)


def test_generation_needs_a_model_of_the_vocabulary() -> None:
    net = _small_lm("abc" * 20)
    with pytest.raises(TaskError, match="input/output sizes 3/3, the vocabulary"):
        generate(net, vocabulary_of(TEXT), "the")


def test_the_shipped_corpus_is_exactly_what_the_project_grammar_writes() -> None:
    assert CORPUS_PATH.read_text(encoding="utf-8") == generate_corpus()
    text = corpus()
    assert 40_000 < len(text.encode("utf-8")) < 100_000
    assert text.isascii()


def test_the_public_vocabulary_checks_the_text_and_defaults_to_the_corpus() -> None:
    assert vocabulary().chars == sorted(set(corpus()))
    assert vocabulary("héllo".encode()).chars == ["h", "l", "o", "é"]
    with pytest.raises(TaskError, match="text is not valid UTF-8"):
        vocabulary(b"\xff")
