"""Hostile input gets a 4xx that names what and where, never a 500: integers beyond any float,
JSON nested thousands of levels deep, text holding a lone UTF-16 surrogate — over REST and over
the WebSocket."""

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def quiet_client(client: TestClient) -> TestClient:
    # a 500 comes back as an answer instead of being raised in the test; the same visitor (its
    # owner cookie, given by a first answer) as `client`, which makes the models
    client.get("/api/v1/health")
    return TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies)


def _post(client: TestClient, url: str, text: str):  # type: ignore[no-untyped-def]
    return client.post(url, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("digits", [30, 400])
def test_an_integer_beyond_any_float_in_a_query_is_refused_by_its_limit(
    quiet_client: TestClient, digits: int
) -> None:
    answer = quiet_client.get(f"/api/v1/tasks/waveforms/sample?batch_size={'9' * digits}")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == "batch_size"
    assert body["limit"]["setting"] == "max_batch"


def test_an_integer_of_thousands_of_digits_is_refused(quiet_client: TestClient) -> None:
    answer = quiet_client.get(f"/api/v1/tasks/waveforms/sample?batch_size={'9' * 5000}")
    assert 400 <= answer.status_code < 500, answer.text
    text = '{"config": {"input_size": 1, "hidden_size": ' + "9" * 5000 + ', "output_size": 1}}'
    answer = _post(quiet_client, "/api/v1/models", text)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("depth", [990, 5000, 100_000])
def test_json_nested_deeper_than_any_field_is_a_422(
    quiet_client: TestClient, make_model: Callable[..., str], depth: int
) -> None:
    model_id = make_model(input_size=1, hidden_size=4, output_size=1)
    text = '{"inputs": ' + "[" * depth + "1" + "]" * depth + "}"
    answer = _post(quiet_client, f"/api/v1/models/{model_id}/forward", text)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert "nests too deeply" in problem["msg"] or "dimension" in problem["msg"], problem


def test_a_lone_surrogate_in_a_corpus_is_a_422_naming_the_field(quiet_client: TestClient) -> None:
    text = '{"params": {"text": "harbour \\ud800 tales"}}'
    answer = _post(quiet_client, "/api/v1/tasks/char_lm/sample", text)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "params", "text"]
    assert "not valid Unicode" in problem["msg"]


def test_a_surrogate_pair_is_one_character_and_is_accepted(quiet_client: TestClient) -> None:
    # U+1F600 written as its UTF-16 pair of escapes: valid JSON text for one real character
    text = '{"params": {"text": "harbour \\ud83d\\ude00 tales, harbour tales", "seq_len": 4}}'
    answer = _post(quiet_client, "/api/v1/tasks/char_lm/sample", text)
    assert answer.status_code == 200, answer.text
    assert "\U0001f600" in json.dumps(answer.json(), ensure_ascii=False)


def test_a_lone_surrogate_in_a_model_name_is_a_422(quiet_client: TestClient) -> None:
    config = '{"input_size": 1, "hidden_size": 4, "output_size": 1}'
    answer = _post(quiet_client, "/api/v1/models", '{"name": "\\udc00x", "config": ' + config + "}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "name"]


def test_the_stream_answers_hostile_messages_with_error_frames(
    client: TestClient, make_model: Callable[..., str]
) -> None:
    model_id = make_model(input_size=1, hidden_size=4, output_size=1)
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        messages = [
            '{"type": "run", "inputs": ' + "[" * 5000 + "1" + "]" * 5000 + "}",
            '{"type": "run", "sample": {"task": "char_lm", "params": {"text": "a\\ud800b"}}}',
            '{"type": "run", "sample": {"task": "sine", "params": {"length": 1' + "0" * 400 + "}}}",
        ]
        for message in messages:
            ws.send_text(message)
            frame = ws.receive_json()
            assert frame["type"] == "error", frame
            assert "internal" not in frame["detail"].lower(), frame
        ws.send_text(json.dumps({"type": "run", "inputs": [[0.5], [1.0]]}))
        assert ws.receive_json()["type"] != "error"  # the socket still serves
