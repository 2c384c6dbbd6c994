"""Every field of every operation's body, made hostile, gets a 4xx naming what is wrong, never a
500: each JSON request example of the OpenAPI document is posted once per field and per kind of
hostile value put in that field's place — a list nested 3,000 deep, an integer of 400 digits, a
number beyond any float (1e400) and text holding a lone UTF-16 surrogate. The fields are the
body schema's, every property of every object (each variant of a union, the ones an example
leaves out included), lists entered at their first element (the others are alike)."""

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.web.test_examples import placed_examples, request_examples

PLACE = "\u2063hostile\u2063"  # a string no example holds, replaced in the body's text
HOSTILE = {
    "nested": "[" * 3000 + "]" * 3000,
    "long integer": "1" + "0" * 400,
    "beyond float": "1e400",
    "lone surrogate": '"a\\ud800b"',
}


def schema_fields(
    schema: dict[str, Any], schemas: dict[str, Any], path: tuple[Any, ...] = (), depth: int = 0
) -> Iterator[tuple[Any, ...]]:
    """The path of every field the body schema describes (object properties by name; an array's
    first element as 0), through `$ref`s and every variant of anyOf / oneOf / allOf."""
    if depth > 12:  # a recursive schema: deep enough
        return
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    for union in ("anyOf", "oneOf", "allOf"):
        for variant in schema.get(union, []):
            yield from schema_fields(variant, schemas, path, depth + 1)
    for name, item in schema.get("properties", {}).items():
        yield (*path, name)
        yield from schema_fields(item, schemas, (*path, name), depth + 1)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        yield (*path, 0)
        yield from schema_fields(schema["items"], schemas, (*path, 0), depth + 1)


def body_fields(document: dict[str, Any], method: str, path: str) -> list[tuple[Any, ...]]:
    """Every field of the operation's JSON body schema, once each, in a stable order."""
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return sorted(set(schema_fields(schema, document["components"]["schemas"])), key=str)


def with_hostile(example: Any, path: tuple[Any, ...], hostile: str) -> bytes:
    """The example's JSON text with the field at `path` set to `hostile` (raw JSON text); the
    objects and lists on the way are made where the example has none."""
    body = json.loads(json.dumps(example))
    holder = body
    for step, after in itertools.pairwise(path):
        fresh: Any = [None] if isinstance(after, int) else {}
        if isinstance(holder, dict):
            if not isinstance(holder.get(step), type(fresh)) or holder.get(step) in ([], None):
                holder[step] = fresh
        elif not holder or not isinstance(holder[step], type(fresh)):
            holder[step] = fresh
        holder = holder[step]
    if isinstance(holder, list) and not holder:
        holder.append(None)
    holder[path[-1]] = PLACE
    return json.dumps(body).replace(json.dumps(PLACE), hostile).encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, list[Any]]]:
    """A client (500s answered, not raised) and the document's examples, each with the url it
    is accepted at (a model of the document's own examples fills `{model_id}`)."""
    data = Path(tmp_path_factory.mktemp("hostile")) / "data"
    with TestClient(create_app(Settings(data_dir=data)), raise_server_exceptions=False) as client:
        document = client.get("/openapi.json").json()
        examples = request_examples(document)
        accepted, refused = placed_examples(client, examples)
        assert not refused, refused  # every example is accepted (test_examples)
        placed = [
            (method, url, example, body_fields(document, method, path))
            for method, path, url, example in accepted
        ]
        assert len(placed) == len(examples)
        yield client, placed


def test_every_field_made_hostile_is_a_4xx_that_says_what(
    served: tuple[TestClient, list[Any]],
) -> None:
    client, placed = served
    tried, wrong = 0, []
    for method, url, example, paths in placed:
        for path in paths:
            for kind, hostile in HOSTILE.items():
                body = with_hostile(example, path, hostile)
                reply = client.request(
                    method.upper(), url, content=body, headers={"content-type": "application/json"}
                )
                tried += 1
                answer = (
                    reply.json()
                    if reply.headers["content-type"].startswith("application/json")
                    else {}
                )
                # refused for what it holds: not for a busy server (409, 429) nor accepted
                if reply.status_code not in (400, 413, 422) or not answer.get("detail"):
                    wrong.append((method, url, path, kind, reply.status_code, reply.text[:200]))
    assert tried > 400, tried
    assert not wrong, wrong
