"""Owners: two browsers (two cookie jars) on one server never see each other's models and
sessions; bearer tokens, share links and the instructor token, over REST and the stream."""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings
from app.store import SQLStore
from app.web.owners import COOKIE

INSTRUCTOR = "instructor-secret-0123456789"
CONFIG = {"input_size": 1, "hidden_size": 4, "output_size": 1, "output_mode": "last"}
INPUTS = [[0.1], [0.5], [-0.3]]
TRAIN = {"task": "sine", "task_params": {"length": 8}, "batch_size": 4, "early_stop": None}


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", instructor_token=INSTRUCTOR)


@pytest.fixture
def clients(app_settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """A and B: two browsers on one app, each with its own cookie jar."""
    app = create_app(app_settings)
    with TestClient(app) as a:
        yield a, TestClient(app)


def make(client: TestClient) -> str:
    response = client.post("/api/v1/models", json={"config": CONFIG})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start_session(client: TestClient, model_id: str) -> str:
    response = client.post(
        f"/api/v1/models/{model_id}/train", json={**TRAIN, "steps": 5, "start_paused": True}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def every_route(model_id: str, session_id: str) -> list[tuple[str, str, dict | None]]:
    model = f"/api/v1/models/{model_id}"
    session = f"/api/v1/training/{session_id}"
    return [
        ("GET", model, None),
        ("POST", f"{model}/forward", {"inputs": INPUTS}),
        ("POST", f"{model}/backward", {"inputs": INPUTS, "targets": [0.2]}),
        ("POST", f"{model}/connectivity", {"inputs": INPUTS, "t": 2}),
        ("GET", f"{model}/weights", None),
        ("POST", f"{model}/train", {**TRAIN, "steps": 5}),
        ("POST", f"{model}/share", None),
        ("GET", session, None),
        ("GET", f"{session}/history", None),
        *[("POST", f"{session}/{action}", None) for action in ("pause", "resume", "step", "stop")],
        ("DELETE", model, None),
    ]


def test_another_owner_gets_404_everywhere_and_lists_nothing_of_theirs(clients) -> None:
    a, b = clients
    model_id = make(a)
    session_id = start_session(a, model_id)
    own = make(b)
    for method, path, body in every_route(model_id, session_id):
        response = b.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert [m["id"] for m in b.get("/api/v1/models").json()] == [own]
    assert b.get("/api/v1/training").json() == []
    assert b.get("/api/v1/training", params={"model_id": model_id}).json() == []
    # A's things are intact: A still reads, lists and manages them
    assert a.get(f"/api/v1/models/{model_id}").status_code == 200
    assert [m["id"] for m in a.get("/api/v1/models").json()] == [model_id]
    assert [s["id"] for s in a.get("/api/v1/training").json()] == [session_id]
    assert a.post(f"/api/v1/training/{session_id}/stop").status_code == 200
    assert a.delete(f"/api/v1/models/{model_id}").status_code == 204


def test_the_stream_of_another_owners_model_is_closed_as_unknown(clients) -> None:
    a, b = clients
    model_id = make(a)
    with b.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        error = ws.receive_json()
        assert error["type"] == "error" and model_id in error["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4404
    with a.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": INPUTS})
        assert ws.receive_json()["type"] != "error"


def test_a_bearer_token_acts_as_its_owner_without_a_cookie(clients) -> None:
    a, _ = clients
    model_id = make(a)
    issued = a.post("/api/v1/tokens")
    assert issued.status_code == 201
    token = issued.json()["token"]
    bare = TestClient(a.app, cookies=None)
    headers = {"Authorization": f"Bearer {token}"}
    assert bare.get(f"/api/v1/models/{model_id}", headers=headers).status_code == 200
    assert [m["id"] for m in bare.get("/api/v1/models", headers=headers).json()] == [model_id]
    assert COOKIE not in bare.get("/api/v1/models", headers=headers).cookies
    assert bare.get(f"/api/v1/models/{model_id}").status_code == 404  # no token: someone else
    wrong = bare.get("/api/v1/models", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and "POST /api/v1/tokens" in wrong.json()["detail"]
    # only the hash is stored
    with sqlite3.connect(Path(a.app.state.settings.data_dir) / "rnn-explorer.sqlite3") as db:
        stored = [row[0] for row in db.execute("SELECT token_hash FROM tokens")]
    assert stored and token not in stored


def test_a_share_link_reads_but_cannot_delete_train_or_control(clients) -> None:
    a, b = clients
    model_id = make(a)
    session_id = start_session(a, model_id)
    shared = a.post(f"/api/v1/models/{model_id}/share")
    assert shared.status_code == 201
    token = shared.json()["token"]
    assert shared.json()["url"].endswith(f"share={token}")
    header = {"X-Share-Token": token}
    base = f"/api/v1/models/{model_id}"
    assert b.get(base, headers=header).status_code == 200
    assert b.get(f"{base}?share={token}").status_code == 200
    mine = a.post(f"{base}/forward", json={"inputs": INPUTS}).json()
    theirs = b.post(f"{base}/forward", json={"inputs": INPUTS}, headers=header)
    assert theirs.status_code == 200 and theirs.json()["outputs"] == mine["outputs"]
    assert b.get(f"{base}/weights", headers=header).content == a.get(f"{base}/weights").content
    grads = b.post(f"{base}/backward", json={"inputs": INPUTS, "targets": [0.2]}, headers=header)
    assert grads.status_code == 200
    for method, path in [
        ("DELETE", base),
        ("POST", f"{base}/train"),
        ("POST", f"{base}/share"),
        ("POST", f"/api/v1/training/{session_id}/stop"),
    ]:
        response = b.request(method, path, json={**TRAIN, "steps": 5}, headers=header)
        assert response.status_code == 403, (method, path, response.text)
        assert "read-only" in response.json()["detail"]
    assert a.get(base).status_code == 200  # not deleted
    # the token opens only its model, and a tampered one opens nothing
    other = make(a)
    assert b.get(f"/api/v1/models/{other}", headers=header).status_code == 404
    forged = {"X-Share-Token": token.replace(model_id, other)}
    assert b.get(f"/api/v1/models/{other}", headers=forged).status_code == 404
    # over the stream: run yes, train no
    with b.websocket_connect(f"{base}/stream?share={token}") as ws:
        ws.send_json({"type": "run", "inputs": INPUTS})
        assert ws.receive_json()["type"] != "error"
        ws.send_json({"type": "train", **TRAIN, "steps": 5})
        while (frame := ws.receive_json())["type"] != "error":
            pass
        assert "read-only" in frame["detail"]


def test_the_instructor_sees_and_manages_everything(clients) -> None:
    a, b = clients
    of_a = make(a)
    ids = {of_a, make(b)}
    session_id = start_session(a, of_a)
    teacher = TestClient(a.app)
    headers = {"Authorization": f"Bearer {INSTRUCTOR}"}
    assert {m["id"] for m in teacher.get("/api/v1/models", headers=headers).json()} == ids
    listed = teacher.get("/api/v1/training", headers=headers).json()
    assert [s["id"] for s in listed] == [session_id]
    assert teacher.post(f"/api/v1/training/{session_id}/stop", headers=headers).status_code == 200
    for model_id in ids:
        assert teacher.delete(f"/api/v1/models/{model_id}", headers=headers).status_code == 204
    assert a.get("/api/v1/models").json() == [] and b.get("/api/v1/models").json() == []


def test_a_forged_or_tampered_cookie_is_a_fresh_owner(clients) -> None:
    a, _ = clients
    model_id = make(a)
    value = a.cookies[COOKIE]
    owner, _, mac = value.rpartition(".")
    assert owner and mac
    changed = owner[:-1] + ("1" if owner[-1] == "0" else "0")  # one character of the owner
    for forged in (f"{owner}.{'A' * len(mac)}", f"{changed}.{mac}", owner, "garbage"):
        stranger = TestClient(a.app, cookies={COOKIE: forged})
        response = stranger.get(f"/api/v1/models/{model_id}")
        assert response.status_code == 404, forged
        assert stranger.get("/api/v1/models").json() == []
        fresh = response.cookies.get(COOKIE)
        assert fresh is not None and fresh.rpartition(".")[0] != owner
    # the genuine cookie still works, and the page sets it HttpOnly and SameSite=Lax
    assert TestClient(a.app, cookies={COOKIE: value}).get(f"/api/v1/models/{model_id}").is_success
    header = TestClient(a.app).get("/api/v1/models").headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_a_store_without_owner_columns_opens_and_its_rows_are_the_instructors(
    app_settings: Settings,
) -> None:
    data = Path(app_settings.data_dir)
    data.mkdir(parents=True)
    (data / "models").mkdir()
    with sqlite3.connect(data / "rnn-explorer.sqlite3") as db:  # a version-1 database
        db.executescript(
            "CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL,"
            " weights_version INTEGER NOT NULL DEFAULT 1);"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema_version', '1');"
        )
        db.execute(
            "INSERT INTO models VALUES ('old1', 'old', ?, ?, ?, 1)",
            ('{"cell": "rnn", "input_size": 1, "hidden_size": 2, "output_size": 1}',)
            + (time.time(),) * 2,
        )
    store = SQLStore(data)
    assert store.get_model("old1").owner_id == ""
    store.close()
    with TestClient(create_app(app_settings)) as visitor:
        assert visitor.get("/api/v1/models").json() == []
        assert visitor.get("/api/v1/models/old1").status_code == 404
        teacher = {"Authorization": f"Bearer {INSTRUCTOR}"}
        listed = visitor.get("/api/v1/models", headers=teacher).json()
        assert [m["id"] for m in listed] == ["old1"]
        assert make(visitor)  # new models go into the migrated table
