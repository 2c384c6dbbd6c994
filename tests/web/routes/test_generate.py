"""POST /models/{id}/generate against a sampler written here from /forward's logits."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.web.routes.test_training import wait_for

TEXT = "the cat sat on the mat; a rat ran at the cat. " * 12
VOCAB = sorted(set(TEXT))
V = len(VOCAB)


@pytest.fixture
def char_model(client) -> str:
    """A small LSTM trained a few steps on TEXT with the char_lm task."""
    config = {
        "input_size": V,
        "hidden_size": 12,
        "output_size": V,
        "cell": "lstm",
        "head": "softmax",
        "loss": "cross_entropy",
        "output_mode": "sequence",
        "seed": 3,
    }
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    body = {"task": "char_lm", "task_params": {"text": TEXT, "seq_len": 10}, "steps": 30}
    session = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert session.status_code == 202, session.text
    wait_for(client, session.json()["id"], ("finished", "early_stopped"))
    return str(model_id)


def independent_sample(
    client, model_id: str, read: str, length: int, temperature: float, top_k, seed: int
) -> tuple[str, list[float]]:
    """Each next character from /forward over everything read so far (no carried state):
    softmax of the last logits at the temperature, the top_k kept, drawn with NumPy's
    default_rng(seed).choice."""
    rng = np.random.default_rng(seed)
    text, probabilities = "", []
    for _ in range(length):
        inputs = np.eye(V)[[VOCAB.index(c) for c in read + text]]
        answer = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs.tolist()})
        logits = np.array(answer.json()["logits"][-1])
        weights = np.exp((logits - logits.max()) / temperature)
        if top_k is not None:
            kth = np.sort(logits)[::-1][top_k - 1]
            weights[logits < kth] = 0.0
        p = weights / weights.sum()
        k = int(rng.choice(V, p=p))
        text += VOCAB[k]
        probabilities.append(float(p[k]))
    return text, probabilities


@pytest.mark.parametrize(
    ("prefix", "temperature", "top_k"), [("the ", 0.8, None), ("a rat", 1.3, 4), ("", 0.5, None)]
)
def test_generated_text_is_the_independent_samplers(
    client, char_model: str, prefix: str, temperature: float, top_k: int | None
) -> None:
    body = {"prefix": prefix, "length": 25, "temperature": temperature, "seed": 11}
    if top_k is not None:
        body["top_k"] = top_k
    response = client.post(f"/api/v1/models/{char_model}/generate", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    read = prefix or " "  # the documented start: a newline if the vocabulary has one, else a space
    assert "\n" not in VOCAB and answer["start"] == (None if prefix else " ")
    expected, probabilities = independent_sample(
        client, char_model, read, 25, temperature, top_k, 11
    )
    assert answer["continuation"] == expected
    assert answer["text"] == prefix + expected and answer["prefix"] == prefix
    np.testing.assert_allclose(answer["probabilities"], probabilities, rtol=1e-12)
    assert answer["vocabulary"] == "".join(VOCAB) and answer["seed"] == 11


def test_same_seed_same_text_and_a_fresh_seed_is_returned(client, char_model: str) -> None:
    url = f"/api/v1/models/{char_model}/generate"
    body = {"prefix": "the", "length": 60, "temperature": 1.0}
    first = client.post(url, json={**body, "seed": 5}).json()
    assert client.post(url, json={**body, "seed": 5}).json() == first
    assert client.post(url, json={**body, "seed": 6}).json()["text"] != first["text"]
    fresh = client.post(url, json=body).json()
    assert 0 <= fresh["seed"] < 2**53  # exact as a JavaScript number
    assert client.post(url, json={**body, "seed": fresh["seed"]}).json() == fresh
    greedy = client.post(url, json={**body, "top_k": 1, "seed": 1}).json()
    assert greedy["probabilities"] == [1.0] * 60
    assert greedy["text"] == client.post(url, json={**body, "top_k": 1, "seed": 2}).json()["text"]


def test_an_untrained_model_of_the_shipped_corpus_generates_from_its_vocabulary(client) -> None:
    task = client.get("/api/v1/tasks/char_lm").json()
    config = {**task["default_config"], "hidden_size": 8}
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    sample = client.post("/api/v1/tasks/char_lm/sample", json={"batch_size": 1}).json()
    answer = client.post(
        f"/api/v1/models/{model_id}/generate", json={"prefix": "The ", "length": 10, "seed": 0}
    ).json()
    assert answer["vocabulary"] == sample["meta"]["vocabulary"]
    assert answer["text"].startswith("The ") and len(answer["continuation"]) == 10


def field_of(response) -> str:
    body = response.json()
    if "field" in body:
        return str(body["field"])
    return ".".join(map(str, body["detail"][0]["loc"][1:]))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"prefix": "the Zebra€", "length": 5}, "prefix", "vocabulary: 'Z', 'b', '€'"),
        ({"length": 0}, "length", "greater than or equal to 1"),
        ({"length": 41}, "length", "max_generate_length"),
        ({"prefix": "a" * 31, "length": 3}, "prefix", "max_steps"),
        ({"length": 5, "temperature": 0}, "temperature", "greater than 0"),
        ({"length": 5, "temperature": -1.0}, "temperature", "greater than 0"),
        ({"length": 5, "temperature": 11}, "temperature", "less than or equal to 10"),
        ({"length": 5, "top_k": 0}, "top_k", "greater than or equal to 1"),
        ({"length": 5, "seed": -1}, "seed", "greater than or equal to 0"),
        ({"length": 5, "seed": "x"}, "seed", "integer"),
        ({"prefix": "the"}, "length", "Field required"),
    ],
)
def test_bad_requests_are_422_naming_the_field(tmp_path, body, field, message) -> None:
    settings = Settings(data_dir=tmp_path, max_generate_length=40, max_steps=30)
    with TestClient(create_app(settings)) as client:
        config = {"input_size": V, "hidden_size": 4, "output_size": V, "head": "softmax"}
        config |= {"loss": "cross_entropy", "output_mode": "sequence"}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        trained = client.post(
            f"/api/v1/models/{model_id}/train",
            json={"task": "char_lm", "task_params": {"text": TEXT, "seq_len": 10}, "steps": 1},
        )
        assert trained.status_code == 202, trained.text
        response = client.post(f"/api/v1/models/{model_id}/generate", json=body)
        assert response.status_code == 422, response.text
        assert field_of(response) == field
        assert message in response.text


def test_a_model_that_does_not_read_characters_is_refused(client, make_model) -> None:
    model_id = make_model(output_mode="last")
    response = client.post(f"/api/v1/models/{model_id}/generate", json={"length": 5})
    assert response.status_code == 422
    assert field_of(response) == "model_id"
    assert "not a character model" in response.json()["detail"]
    assert client.post("/api/v1/models/nope/generate", json={"length": 5}).status_code == 404
