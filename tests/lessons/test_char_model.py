"""The lesson "The textbook RNN and a character model" (lessons/2-char-model.md), step by step
over the API, against the chapter's RNN re-implemented here in NumPy."""

import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.rnn.arrays import Array
from app.tasks.char_lm import corpus
from tests.lessons.helpers import (
    as_array,
    backward,
    forward,
    history,
    lesson_step,
    make_model,
    params,
    sample,
    train,
    training_of,
    wait,
)

LESSON = "char-model"
RANDOM = "Char RNN (d2l)"
SEQUENTIAL = "Char RNN (d2l, sequential)"
T = 35


def test_the_lesson_is_served_with_its_steps(client: TestClient) -> None:
    listed = {lesson["name"]: lesson for lesson in client.get("/api/v1/lessons").json()}
    assert listed[LESSON]["tutorial"] == "rnn-chapter-char-model.txt"
    assert len(listed[LESSON]["steps"]) == 7
    step = lesson_step(
        client, LESSON, "Sequential minibatches: the state carries over, its gradient does not"
    )
    assert step["setup"]["link"]["preset"] == SEQUENTIAL
    assert "task=char_lm" in step["query"] and "tab=train" in step["query"]


# -- the chapter's RNN, in NumPy --------------------------------------------------------------


def vocabulary() -> list[str]:
    return sorted(set(corpus()))


def training_ids() -> Array:
    """The characters trained on: the text without its last tenth (held out for validation)."""
    index = {c: i for i, c in enumerate(vocabulary())}
    ids = np.array([index[c] for c in corpus()])
    return ids[: len(ids) - round(0.1 * len(ids))]


def windows(ids: Array, offsets: Array) -> tuple[Array, Array]:
    """One-hot inputs (B, T, V) and next-character ids (B, T) of the windows at `offsets`."""
    rows = offsets[:, None] + np.arange(T)
    return np.eye(len(vocabulary()))[ids[rows]], ids[rows + 1]


def rnn(P: dict[str, Array], X: Array, H: Array) -> tuple[Array, Array]:
    """The chapter's `rnn`: X (B, T, V), state H (B, h) → states (B, T, h), outputs O (B, T, V)."""
    states = []
    for t in range(X.shape[1]):
        H = np.tanh(X[:, t] @ P["layer0.W_xh"] + H @ P["layer0.W_hh"] + P["layer0.b_h"])
        states.append(H)
    Hs = np.stack(states, axis=1)
    return Hs, Hs @ P["W_hq"] + P["b_q"]


def gradients(P: dict[str, Array], X: Array, y: Array, H0: Array) -> dict[str, Array]:
    """d(mean cross-entropy)/dθ by BPTT inside the window; nothing flows back into H0."""
    Hs, O = rnn(P, X, H0)
    B = X.shape[0]
    dO = np.exp(O - O.max(axis=-1, keepdims=True))
    dO /= dO.sum(axis=-1, keepdims=True)
    dO[np.arange(B)[:, None], np.arange(T), y] -= 1.0
    dO /= B * T
    g = {name: np.zeros_like(value) for name, value in P.items()}
    g["W_hq"] = np.einsum("bth,btq->hq", Hs, dO)
    g["b_q"] = dO.sum(axis=(0, 1))
    dH_next = np.zeros_like(H0)
    for t in reversed(range(T)):
        dA = (dO[:, t] @ P["W_hq"].T + dH_next) * (1.0 - Hs[:, t] ** 2)
        H_prev = Hs[:, t - 1] if t > 0 else H0
        g["layer0.W_hh"] += H_prev.T @ dA
        g["layer0.W_xh"] += X[:, t].T @ dA
        g["layer0.b_h"] += dA.sum(axis=0)
        dH_next = dA @ P["layer0.W_hh"].T
    return g


def norm(g: dict[str, Array]) -> float:
    return float(np.sqrt(sum(float((v**2).sum()) for v in g.values())))


def sgd_clipped(
    P: dict[str, Array], g: dict[str, Array], lr: float, clip: float
) -> dict[str, Array]:
    factor = min(1.0, clip / (norm(g) + 1e-6))
    return {name: P[name] - lr * factor * g[name] for name in P}


def two_steps(
    client: TestClient, preset_name: str
) -> tuple[list[dict[str, Array]], list[dict[str, Any]], dict[str, Any]]:
    """Two training updates made one at a time (Step): the weights before and after each, the
    progress records, the training config in effect."""
    model = make_model(client, preset_name)
    body = training_of(client, preset_name, steps=2, report_every=1, start_paused=True)
    reply = client.post(f"/api/v1/models/{model}/train", json=body)
    assert reply.status_code == 202, reply.text
    session = reply.json()
    wait(client, session["id"], ("paused",))
    weights = [params(client, model)]
    for _ in range(2):
        assert client.post(f"/api/v1/training/{session['id']}/step").status_code == 200
        wait(client, session["id"], ("paused", "finished"))
        weights.append(params(client, model))
    return weights, history(client, session["id"]), session["training"]


# -- the steps --------------------------------------------------------------------------------


def test_the_same_three_matrices_make_every_steps_pre_activation(client: TestClient) -> None:
    model = make_model(client, RANDOM)
    P = params(client, model)
    X = as_array(sample(client, "char_lm", seq_len=T)["inputs"])
    A = as_array(forward(client, model, inputs=X.tolist())["trace"]["layers"][0]["A"])
    Hs, _ = rnn(P, X[None], np.zeros((1, 256)))
    expected = X[5] @ P["layer0.W_xh"] + Hs[0, 4] @ P["layer0.W_hh"] + P["layer0.b_h"]
    np.testing.assert_allclose(A[5], expected, atol=1e-12)


def test_the_shapes_are_those_of_a_53_character_vocabulary(client: TestClient) -> None:
    assert len(vocabulary()) == 53
    model = make_model(client, RANDOM)
    P = params(client, model)
    shapes = {name: value.shape for name, value in P.items()}
    assert shapes == {
        "layer0.W_xh": (53, 256),
        "layer0.W_hh": (256, 256),
        "layer0.b_h": (256,),
        "W_hq": (256, 53),
        "b_q": (53,),
    }
    # PyTorch's initialisation, not the chapter's N(0, 0.01²): uniform within ±1/√256.
    assert 0.06 < np.abs(P["layer0.W_hh"]).max() <= 1 / 16
    batch = as_array(sample(client, "char_lm", batch_size=32, seq_len=T)["inputs"])
    assert batch.shape == (32, T, 53)  # num_steps matrices of (batch_size, vocab_size)


def test_random_windows_start_from_a_zero_state(client: TestClient) -> None:
    model = make_model(client, RANDOM)
    P = params(client, model)
    X = as_array(sample(client, "char_lm", seq_len=T)["inputs"])
    A = as_array(forward(client, model, inputs=X.tolist())["trace"]["layers"][0]["A"])
    np.testing.assert_allclose(A[0], X[0] @ P["layer0.W_xh"] + P["layer0.b_h"], atol=1e-12)


def test_an_untrained_model_hesitates_between_all_53_characters(client: TestClient) -> None:
    model = make_model(client, RANDOM)
    batch = sample(client, "char_lm", batch_size=32, seq_len=T)
    loss = backward(client, model, inputs=batch["inputs"], targets=batch["targets"])["loss"]
    assert 50 < np.exp(loss) < 57


def test_random_sampling_trains_every_minibatch_from_zero(client: TestClient) -> None:
    weights, records, training = two_steps(client, RANDOM)
    ids = training_ids()
    rng = np.random.default_rng(training["seed"])
    P = weights[0]
    zero = np.zeros((32, 256))
    for k in range(2):
        X, y = windows(ids, rng.integers(0, len(ids) - T, 32))
        g = gradients(P, X, y, zero)
        assert records[k]["grad_norm"] == pytest.approx(norm(g), rel=1e-9)
        P = sgd_clipped(P, g, 1.0, 1.0)
        for name in P:
            np.testing.assert_allclose(weights[k + 1][name], P[name], atol=1e-9, err_msg=name)
    # the first gradient is about 0.4 long: clip = 1 leaves it as it is
    assert 0.3 < records[0]["grad_norm"] < 0.5


def test_sequential_sampling_carries_the_state_and_cuts_its_gradient(client: TestClient) -> None:
    weights, records, _ = two_steps(client, SEQUENTIAL)
    ids = training_ids()
    stream = (len(ids) - 1) // 32
    first = windows(ids, np.arange(32) * stream)
    second = windows(ids, np.arange(32) * stream + T)  # each stream's next 35 characters
    zero = np.zeros((32, 256))
    P1 = sgd_clipped(weights[0], gradients(weights[0], *first, zero), 1.0, 1.0)
    for name in P1:
        np.testing.assert_allclose(weights[1][name], P1[name], atol=1e-9, err_msg=name)
    carried = rnn(weights[0], first[0], zero)[0][
        :, -1
    ]  # H_35 of the first window, before the update
    P2 = sgd_clipped(P1, gradients(P1, *second, carried), 1.0, 1.0)
    for name in P2:
        np.testing.assert_allclose(weights[2][name], P2[name], atol=1e-9, err_msg=name)
    # Starting the second window from zero instead would have made another update.
    from_zero = sgd_clipped(P1, gradients(P1, *second, zero), 1.0, 1.0)
    assert np.abs(from_zero["layer0.W_hh"] - weights[2]["layer0.W_hh"]).max() > 1e-6
    assert records[1]["grad_norm"] == pytest.approx(norm(gradients(P1, *second, carried)), rel=1e-9)


def test_clipping_rescales_a_long_gradient_to_norm_one(client: TestClient) -> None:
    # A larger initial W_hh (N(0, 0.2²): spectral radius about 3) makes the gradient long.
    moved = {}
    for clip in (1.0, None):
        model = make_model(client, RANDOM, init="normal", init_std=0.2)
        before = params(client, model)
        info = train(client, model, training_of(client, RANDOM, steps=1, report_every=1, clip=clip))
        raw = history(client, info["id"])[0]["grad_norm"]
        after = params(client, model)
        moved[clip] = norm({name: after[name] - before[name] for name in after})  # lr = 1
    assert raw > 2
    assert moved[1.0] == pytest.approx(1.0, abs=1e-5)
    assert moved[None] == pytest.approx(raw, rel=1e-9)


# -- training: perplexity and sampling --------------------------------------------------------


def unigram_perplexity() -> float:
    p = np.bincount(training_ids(), minlength=53) / len(training_ids())
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def held_out_perplexity(client: TestClient, model: str) -> float:
    """Recomputed from the model's outputs on 50 windows of the held-out tenth of the text."""
    index = {c: i for i, c in enumerate(vocabulary())}
    text = corpus()
    ids = np.array([index[c] for c in text[len(text) - round(0.1 * len(text)) :]])
    X, y = windows(ids, np.arange(50) * T)
    Y = as_array(forward(client, model, inputs=X.tolist())["outputs"])
    picked = np.take_along_axis(Y, y[..., None], axis=-1)
    return float(np.exp(-np.log(picked).mean()))


def continuation(
    client: TestClient,
    model: str,
    prefix: Array,
    temperature: float,
    rng: np.random.Generator,
    count: int,
) -> str:
    """As the text view does: read the prefix, then one character at a time from the carried
    state, each drawn from softmax(O_t / temperature)."""
    chars = vocabulary()
    result = forward(client, model, inputs=prefix.tolist())
    text = ""
    for _ in range(count):
        logits = as_array(result["logits"][-1]) / temperature
        p = np.exp(logits - logits.max())
        k = int(rng.choice(len(chars), p=p / p.sum()))
        text += chars[k]
        result = forward(
            client,
            model,
            inputs=[np.eye(len(chars))[k].tolist()],
            h0=result["trace"]["final_state"]["h"],
        )
    return text


def word_share(text: str) -> float:
    known = set(re.findall(r"[A-Za-z]+", corpus()))
    words = re.findall(r"[A-Za-z]+", text)
    return sum(word in known for word in words) / max(len(words), 1)


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", [RANDOM, SEQUENTIAL])
def test_perplexity_falls_below_8_within_200_steps(client: TestClient, preset_name: str) -> None:
    step = lesson_step(client, LESSON, "Perplexity falls as it trains")
    assert step["setup"]["link"]["steps"] == 200
    model = make_model(client, preset_name)
    info = train(client, model, training_of(client, preset_name, steps=200, report_every=10))
    metrics = info["latest"]["metrics"]
    print(f"\n{preset_name}: perplexity {metrics['perplexity']:.2f} after {info['step']} steps")
    assert info["step"] == 200 and metrics["perplexity"] < 8
    assert 19 < unigram_perplexity() < 21
    assert np.exp(metrics["unigram_entropy"]) == pytest.approx(unigram_perplexity(), rel=1e-9)
    assert held_out_perplexity(client, model) < 8
    if preset_name == RANDOM:
        norms = [record["grad_norm"] for record in history(client, info["id"])]
        print(f"gradient norms before clipping: {np.round(norms, 2).tolist()}")
        assert np.mean(np.array(norms) < 1.0) >= 0.8  # "mostly below 1"
        prefix = as_array(sample(client, "char_lm", seq_len=T)["inputs"])
        shares = {}
        for temperature in (0.5, 2.0):
            rng = np.random.default_rng(0)
            text = "".join(
                continuation(client, model, prefix, temperature, rng, 80) for _ in range(2)
            )
            shares[temperature] = word_share(text)
            if temperature == 0.5:
                assert "the" in re.findall(r"[a-z]+", text)
            print(
                f"temperature {temperature}: {shares[temperature]:.2f} words known: {text[:100]!r}"
            )
        assert shares[0.5] > 0.2 and shares[2.0] < 0.1
