"""Two `python -m app` servers on one real PostgreSQL database (each with a data directory of
its own, as on two hosts) answer as one: a model created on one is read, trained and deleted
through the other; a follower on one sees every record of a session started through the other;
PostgreSQL restarted under load gives clear 503s (naming the database, never its password), then
the servers recover by themselves and no acknowledged model is lost."""

import json
import threading
import time

import httpx2
from websockets.sync.client import connect

from tests.postgres import PASSWORD, Postgres
from tests.servers import AS_INSTRUCTOR, LiveServer
from tests.store.conftest import http
from tests.waiting import wait_until
from tests.web.routes.test_training import SINE, SINE_MODEL


def test_a_model_made_on_one_server_is_read_trained_followed_and_deleted_on_the_other(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    first, second = servers
    with http(first) as one, http(second) as other:
        created = one.post("/api/v1/models", json={"config": SINE_MODEL})
        assert created.status_code == 201, created.text
        model_id = created.json()["id"]
        assert (
            other.get(f"/api/v1/models/{model_id}").json()
            == one.get(f"/api/v1/models/{model_id}").json()
        )
        weights = one.get(f"/api/v1/models/{model_id}/weights").content
        assert other.get(f"/api/v1/models/{model_id}/weights").content == weights

        ws_url = first.base_url.replace("http://", "ws://")
        with connect(
            f"{ws_url}/api/v1/models/{model_id}/stream", additional_headers=AS_INSTRUCTOR
        ) as ws:
            started = other.post(
                f"/api/v1/models/{model_id}/train",
                json={**SINE, "steps": 300, "report_every": 10},
            )
            assert started.status_code == 202, started.text
            session = started.json()["id"]
            ws.send(json.dumps({"type": "follow", "session": session}))
            frames = [json.loads(ws.recv(timeout=60))]
            while frames[-1]["type"] != "end":
                frames.append(json.loads(ws.recv(timeout=60)))
        assert frames[-1]["status"] == "finished", frames[-1]
        history = other.get(f"/api/v1/training/{session}/history?limit=10000").json()
        steps = [f["step"] for f in frames if f["type"] == "metrics"]
        assert steps == [r["step"] for r in history["records"]] == list(range(10, 301, 10))
        assert one.get(f"/api/v1/training/{session}").json()["status"] == "finished"
        # the training on the second server wrote the weights the first one serves
        trained = one.get(f"/api/v1/models/{model_id}/weights").content
        assert trained != weights
        assert trained == other.get(f"/api/v1/models/{model_id}/weights").content

        assert other.delete(f"/api/v1/models/{model_id}").status_code == 204
        assert one.get(f"/api/v1/models/{model_id}").status_code == 404
        assert one.get(f"/api/v1/models/{model_id}/weights").status_code == 404


def load(
    server: LiveServer,
    stop: threading.Event,
    answers: list[httpx2.Response],
    errors: list[Exception],
) -> None:
    """Create small models until `stop`; every answer (and transport error) is kept."""
    with http(server) as client:
        while not stop.is_set():
            try:
                answers.append(client.post("/api/v1/models", json={"config": SINE_MODEL}))
            except httpx2.HTTPError as error:
                errors.append(error)
            time.sleep(0.01)


def test_postgres_restarted_under_load_gives_503s_then_the_servers_recover(
    servers: tuple[LiveServer, LiveServer], postgres: Postgres
) -> None:
    answers: list[httpx2.Response] = []
    errors: list[Exception] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=load, args=(server, stop, answers, errors))
        for server in servers
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        postgres.stop("fast")
        time.sleep(2.0)
        postgres.start()
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert errors == []  # every request was answered, none dropped
    codes = [answer.status_code for answer in answers]
    assert set(codes) <= {201, 503}, sorted(set(codes))
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, "no request was refused while the database was down"
    for answer in refused:
        body = answer.json()
        assert body["storage"]["fault"] == "unavailable"
        assert f"127.0.0.1:{postgres.port}" in body["detail"], body
        assert PASSWORD not in answer.text
        assert answer.headers["Retry-After"] == "1"
    acknowledged = {a.json()["id"] for a in answers if a.status_code == 201}
    for server in servers:
        with http(server) as client:

            def creates(client: httpx2.Client = client) -> bool:
                reply = client.post("/api/v1/models", json={"config": SINE_MODEL})
                return reply.status_code == 201

            wait_until(creates, 30, "the server did not recover")
            kept = {m["id"] for m in client.get("/api/v1/models").json()}
            assert acknowledged <= kept, acknowledged - kept
            health = client.get("/api/v1/health")
            assert health.status_code == 200
