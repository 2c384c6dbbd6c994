"""What a page on another site can make the browser send is refused: a WebSocket from a foreign
Origin, any request to a foreign Host (DNS rebinding), a state-changing request from another
origin or marked cross-site, a text/plain body."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings
from app.web.crosssite import ORIGIN_REFUSED_CODE, origin_allowed
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for

EVIL = "http://evil.example"


@pytest.mark.parametrize("origin", [EVIL, "null", "http://testserver:8080", "https://evil.example"])
def test_a_stream_from_a_foreign_origin_is_closed_before_any_frame(
    client, make_model, origin
) -> None:
    model_id = make_model()
    with client.websocket_connect(
        f"/api/v1/models/{model_id}/stream", headers={"origin": origin}
    ) as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 1.0]]})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == ORIGIN_REFUSED_CODE
    assert "origin" in closed.value.reason and "RNN_EXPLORER_ALLOWED_ORIGINS" in closed.value.reason


@pytest.mark.parametrize("origin", [None, "http://testserver", "http://testserver:80"])
def test_a_stream_from_the_page_or_no_browser_is_served(client, make_model, origin) -> None:
    model_id = make_model()
    headers = {} if origin is None else {"origin": origin}
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream", headers=headers) as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 1.0]]})
        assert ws.receive_json()["type"] == "start"


def test_a_listed_origin_may_stream_and_post(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, allowed_origins="https://class.example/")
    with TestClient(create_app(settings)) as client:
        headers = {"origin": "https://class.example", "sec-fetch-site": "cross-site"}
        created = client.post("/api/v1/models", json={"config": SINE_MODEL}, headers=headers)
        assert created.status_code == 201, created.text
        model_id = created.json()["id"]
        with client.websocket_connect(
            f"/api/v1/models/{model_id}/stream", headers={"origin": "https://class.example"}
        ) as ws:
            ws.send_json({"type": "run", "inputs": [[0.0]]})
            assert ws.receive_json()["type"] == "start"


def test_a_cross_site_text_plain_stop_does_not_stop_the_session(client) -> None:
    model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "start_paused": True}
    ).json()["id"]
    for headers in (
        {"origin": EVIL, "content-type": "text/plain"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site", "content-type": "text/plain"},
    ):
        refused = client.post(f"/api/v1/training/{session}/stop", content=b"x", headers=headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert "refused" in refused.json()["detail"]
        assert refused.headers["x-frame-options"] == "DENY"  # the security headers too
    assert client.get(f"/api/v1/training/{session}").json()["status"] == "paused"
    for method in ("PUT", "PATCH", "DELETE"):
        refused = client.request(method, f"/api/v1/models/{model_id}", headers={"origin": EVIL})
        assert refused.status_code == 403
    assert client.get(f"/api/v1/models/{model_id}").status_code == 200
    # the page's own origin, and a client that is no browser, still stop it
    own = client.post(f"/api/v1/training/{session}/stop", headers={"origin": "http://testserver"})
    assert own.status_code == 200, own.text
    wait_for(client, session, ("stopped",))


def test_a_text_plain_body_is_415_even_from_the_page(client, make_model) -> None:
    model_id = make_model()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = client.post(
            f"/api/v1/models/{model_id}/forward",
            content=b'{"inputs": [[0.0, 1.0]]}',
            headers={"content-type": content_type, "origin": "http://testserver"},
        )
        assert response.status_code == 415, (content_type, response.text)
        assert "application/json" in response.json()["detail"]
    ok = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": [[0.0, 1.0]]})
    assert ok.status_code == 200


def test_a_foreign_host_is_refused_by_default_on_loopback(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, host="127.0.0.1", allowed_hosts="")
    with TestClient(create_app(settings), base_url="http://rebound.example") as client:
        assert client.get("/api/v1/health").status_code == 400
        assert client.get("/api/v1/models").status_code == 400
    for host in ("localhost:8000", "127.0.0.1:1234", "[::1]:8000"):
        with TestClient(create_app(settings), base_url=f"http://{host}") as client:
            assert client.get("/api/v1/health").status_code == 200, host


def test_the_allowed_hosts_setting_names_the_hosts_served(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, host="0.0.0.0", allowed_hosts="rnn.school.example")
    with TestClient(create_app(settings), base_url="http://rnn.school.example") as client:
        assert client.get("/api/v1/health").status_code == 200
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        assert client.get("/api/v1/health").status_code == 400


def test_any_host_on_a_public_bind_without_the_setting_warns(tmp_path, caplog) -> None:
    settings = Settings(data_dir=tmp_path, host="0.0.0.0", allowed_hosts="")
    with TestClient(create_app(settings), base_url="http://anything.example") as client:
        assert client.get("/api/v1/health").status_code == 200
    assert "RNN_EXPLORER_ALLOWED_HOSTS" in caplog.text


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://localhost:8000", "localhost:8000", True),
        ("http://localhost:9999", "localhost:8000", False),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("https://rnn.example", "rnn.example", True),
        ("http://rnn.example.evil", "rnn.example", False),
        ("http://user@evil.example", "evil.example:80", True),
        ("null", "localhost", False),
        ("file://", "localhost", False),
        ("http://localhost:notaport", "localhost", False),
    ],
)
def test_origin_allowed_compares_host_and_port(origin, host, allowed) -> None:
    assert origin_allowed(origin, host, frozenset()) is allowed
