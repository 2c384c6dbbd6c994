"""Every request example of the OpenAPI document is accepted: each one is posted, as a client
reading the document would, to its operation (a model made from one of the document's own model
examples fills `{model_id}`; the task of its training example fills `{name}`)."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def request_examples(document: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(method, path, example) for every JSON request body example in `document`."""
    schemas = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            media = content.get("application/json")
            if media is None:
                continue
            schema = media["schema"]
            while "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            examples = list(schema.get("examples", []))
            examples += [item["value"] for item in media.get("examples", {}).values()]
            if "example" in media:
                examples.append(media["example"])
            found += [(method, path, example) for example in examples]
    return found


def placed_examples(
    client: Any, examples: list[tuple[str, str, Any]]
) -> tuple[list[tuple[str, str, str, Any]], list[tuple[str, str, Any, int, str]]]:
    """Each example at a url it is accepted at: the document's model examples are made (their
    ids fill `{model_id}`, the first model that takes the example), the task of its training
    example fills `{name}`. → ((method, path, url, example) accepted, (method, path, example,
    status, text) of every refusal where no model took the example). `client`: a TestClient
    or an httpx client of a server."""
    models = [e for m, p, e in examples if (m, p) == ("post", "/api/v1/models")]
    assert models, "no model example"
    model_ids = []
    placed, refused = [], []
    for example in models:
        reply = client.post("/api/v1/models", json=example)
        assert reply.status_code == 201, (example, reply.text)
        model_ids.append(reply.json()["id"])
        placed.append(("post", "/api/v1/models", "/api/v1/models", example))
    train = [e for _, p, e in examples if p.endswith("/train") and "task" in e]
    assert train, "no training example names a task"
    task = train[0]["task"]
    for method, path, example in examples:
        if path == "/api/v1/models":
            continue
        # an example fits one of the document's models (generate: the character model)
        replies = []
        for model_id in model_ids if "{model_id}" in path else model_ids[:1]:
            url = path.replace("{model_id}", model_id).replace("{name}", task)
            replies.append(client.request(method.upper(), url, json=example))
            if replies[-1].status_code < 300:
                placed.append((method, path, url, example))
                break
        else:
            refused += [(method, path, example, r.status_code, r.text[:300]) for r in replies]
    return placed, refused


def test_every_request_example_of_the_openapi_document_is_accepted(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        document = client.get("/openapi.json").json()
        examples = request_examples(document)
        # every operation that takes a JSON body has at least one
        with_bodies = {
            (method, path)
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
            if "application/json" in operation.get("requestBody", {}).get("content", {})
        }
        assert {(method, path) for method, path, _ in examples} == with_bodies
        _, refused = placed_examples(client, examples)
        assert not refused, refused


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("inputs", "where"),
    [([[True, 0]], "inputs[0][0]"), ([[0.5, 1], [2, False]], "inputs[1][1]")],
)
def test_a_boolean_is_not_a_number(client: TestClient, inputs: list, where: str) -> None:
    config = {"input_size": 2, "hidden_size": 3, "output_size": 1}
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    reply = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs})
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == where
    assert "bool" in reply.json()["detail"]
    numbers = [
        [1.0 if item is True else 0.0 if item is False else item for item in row] for row in inputs
    ]
    assert (
        client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": numbers}).status_code
        == 200
    )


def test_an_unknown_early_stop_metric_is_refused_with_the_known_ones(client: TestClient) -> None:
    config = {"input_size": 1, "hidden_size": 4, "output_size": 1, "output_mode": "last"}
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    sine = {"task": "sine", "task_params": {"length": 8}, "steps": 20}
    reply = client.post(
        f"/api/v1/models/{model_id}/train",
        json={**sine, "early_stop": {"metric": "acuracy", "target": 0.9}},
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "early_stop.metric"
    detail = reply.json()["detail"]
    assert "'acuracy'" in detail
    # the names it lists are the ones the task says it reports
    described = client.get("/api/v1/tasks/sine").json()["metrics"]
    listed = detail.rpartition("known: ")[2].split(", ")
    assert set(described) <= set(listed), (described, listed)
    accepted = client.post(
        f"/api/v1/models/{model_id}/train",
        json={**sine, "early_stop": {"metric": sorted(described)[0], "target": 0.5, "mode": "min"}},
    )
    assert accepted.status_code == 202, accepted.text
