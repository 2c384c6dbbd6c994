"""Costs bounded before they are paid: the size of a forward or backward answer is checked
against max_answer_elements before the pass runs (and the answer a request just under the bound
gets holds no more numbers than that, counted in the JSON itself); an array route's body has a
smaller bound than other JSON bodies; a body that stops arriving is answered 408, not held."""

import json
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.servers import LiveServer

LIMIT = 60_000
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def numbers(value: Any) -> int:
    """How many numbers a JSON value holds."""
    if isinstance(value, dict):
        return sum(numbers(item) for item in value.values())
    if isinstance(value, list):
        return sum(numbers(item) for item in value)
    return int(isinstance(value, int | float) and not isinstance(value, bool))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        max_answer_elements=LIMIT,
        max_array_request_bytes=64 * 1024,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("cell", sorted(GATES))
@pytest.mark.parametrize("route", ["forward", "backward"])
def test_an_answer_above_max_answer_elements_is_refused_before_the_pass(
    client: TestClient, cell: str, route: str
) -> None:
    D, H, Q, L, B = 2, 12, 3, 2, 2
    config = {"input_size": D, "hidden_size": H, "output_size": Q, "num_layers": L, "cell": cell}
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    per_step = 3 * Q + L * (2 * GATES[cell] + 2) * H
    largest = LIMIT // (B * per_step)  # the largest T whose answer is within the bound
    rng = np.random.default_rng(1)

    def post(T: int) -> Any:
        body: dict[str, Any] = {"inputs": rng.normal(size=(B, T, D)).round(3).tolist()}
        if route == "backward":
            body["targets"] = rng.normal(size=(B, T, Q)).round(3).tolist()
        return client.post(f"/api/v1/models/{model_id}/{route}", json=body)

    refused = post(largest + 1)
    assert refused.status_code == 422, refused.text
    assert refused.json()["limit"] == {"setting": "max_answer_elements", "value": LIMIT}
    assert refused.json()["field"] == "inputs"
    assert "answer" in refused.json()["detail"]
    served = post(largest)
    assert served.status_code == 200, served.text
    # the bound is one on what the answer holds: count it
    held = numbers(served.json())
    assert 0.3 * LIMIT < held <= LIMIT, held


def test_an_array_route_has_its_own_smaller_body_bound(client: TestClient) -> None:
    model_id = client.post(
        "/api/v1/models", json={"config": {"input_size": 1, "hidden_size": 2, "output_size": 1}}
    ).json()["id"]
    big = json.dumps({"inputs": [[0.123456789]] * 8000}).encode()  # ~120 kB
    assert 64 * 1024 < len(big) < Settings.model_fields["max_request_bytes"].default
    reply = client.post(
        f"/api/v1/models/{model_id}/forward",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 413, reply.text
    assert reply.json()["limit"] == {"setting": "max_array_request_bytes", "value": 64 * 1024}
    # the same number of bytes to a route that is not an array route: the general bound
    other = client.post(
        "/api/v1/models",
        content=json.dumps({"config": {}, "name": "x" * len(big)}).encode(),
        headers={"content-type": "application/json"},
    )
    assert other.status_code != 413


def test_a_body_shorter_than_its_content_length_is_answered_408(tmp_path: Path) -> None:
    with LiveServer(tmp_path / "data", body_timeout_seconds=1) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"config"'
            )
            started = time.monotonic()
            sock.settimeout(10)
            reply = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:  # the server closed the connection
                    break
                reply += chunk
            waited = time.monotonic() - started
        assert reply.startswith(b"HTTP/1.1 408 "), reply[:200]
        assert 0.9 < waited < 8, waited
        body = json.loads(reply.partition(b"\r\n\r\n")[2])
        assert body["limit"] == {"setting": "body_timeout_seconds", "value": 1.0}
        assert "Content-Length" in body["detail"]
        assert "Traceback" not in server.log()


def test_the_stream_receives_every_message_up_to_its_own_bound(tmp_path: Path) -> None:
    """uvicorn's WebSocket bound is the setting's, not its 16 MiB default: a message of 18 MiB
    (under a 20 MiB max_request_bytes) is read and answered; one above the bound gets the error
    frame that names it."""
    from websockets.sync.client import connect

    from tests.servers import OWNER, owner_headers

    limit = 20 * 2**20
    with LiveServer(tmp_path / "data", max_request_bytes=limit) as server:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        model_id = OWNER.post(f"{server.base_url}/api/v1/models", json={"config": config}).json()[
            "id"
        ]
        url = f"ws://127.0.0.1:{server.port}/api/v1/models/{model_id}/stream"
        for size, said in ((18 * 2**20, "expected tags"), (limit + 1000, "MAX_REQUEST_BYTES")):
            padded = json.dumps({"type": "nope", "pad": "x" * size})
            with connect(
                url,
                additional_headers={**owner_headers(), "Origin": server.base_url},
                max_size=None,
                open_timeout=20,
            ) as ws:
                ws.send(padded)
                answer = json.loads(ws.recv(timeout=60))
            assert answer["type"] == "error", answer
            assert said in answer["detail"], answer
