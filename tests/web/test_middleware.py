"""Security headers on every response and request bodies refused before they are read whole."""

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.web.middleware import CONTENT_SECURITY_POLICY
from tests.servers import LiveServer

UPLOAD_LIMIT = 64 * 1024
BODY_LIMIT = UPLOAD_LIMIT + 2**20


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(
        tmp_path_factory.mktemp("live") / "data", max_upload_bytes=UPLOAD_LIMIT
    ) as live:
        yield live


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/models/no-such-model"),
        ("GET", "/no/such/page"),
        ("GET", "/vendor/plotly.min.js"),
        ("POST", "/api/v1/models"),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path)
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    # No remote origin and no inline or eval'd script anywhere in the policy.
    assert "http" not in csp
    assert "unsafe-eval" not in csp
    assert "unsafe-inline" not in directives["script-src"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_api_reference_is_served_from_this_origin(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text  # no inline script: CSP would block it
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    assert client.get("/static/docs/init.js").status_code == 200
    assert "//cdn" not in page.text
    assert client.get("/redoc").status_code == 404


def test_the_policy_constant_is_what_is_sent(client: TestClient) -> None:
    policy = client.get("/api/v1/health").headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY


def _read_response(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_a_declared_oversized_body_is_refused_before_any_byte_is_sent(
    server: LiveServer,
) -> None:
    # The client announces 10 GB and sends nothing: the answer must come at once, not after a read.
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000000\r\n\r\n"
        )
        started = time.monotonic()
        reply = _read_response(sock, timeout=10)
        elapsed = time.monotonic() - started
    status_line, _, _ = reply.partition(b"\r\n")
    assert b" 413 " in status_line
    assert elapsed < 5
    body = json.loads(reply.partition(b"\r\n\r\n")[2])
    assert "10000000000" in body["detail"]
    # A JSON body's bound, not an upload's.
    json_limit = Settings.model_fields["max_request_bytes"].default
    assert body["limit"] == {"setting": "max_request_bytes", "value": json_limit}


def test_a_chunked_body_is_answered_soon_after_the_bound(server: LiveServer) -> None:
    # No Content-Length: the 413 must come as soon as the bound is passed, not at the body's end.
    chunk = b"x" * 65536
    sent = 0
    answered_at: int | None = None
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/v1/models/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # A well-formed start of an upload, whose file then never ends.
        part = (
            b'--b\r\nContent-Disposition: form-data; name="weights"; filename="w"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        sock.settimeout(10)
        try:
            while sent < 100 * BODY_LIMIT:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    answered_at = sent
                    break
        except OSError:
            answered_at = sent  # the server answered and closed while we were still sending
        reply = _read_response(sock, timeout=10)
    assert b" 413 " in reply.partition(b"\r\n")[0]
    assert answered_at is not None, "the server read the whole 100× oversized body"
    # Socket buffers on loopback hold a few MiB in flight; the answer comes within that margin.
    assert answered_at < BODY_LIMIT + 16 * 2**20


def test_ordinary_requests_still_pass_through_the_bound(server: LiveServer) -> None:
    reply = httpx2.post(
        f"{server.base_url}/api/v1/models",
        json={"config": {"input_size": 2, "hidden_size": 3, "output_size": 1}},
    )
    assert reply.status_code == 201, reply.text
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_server_log_has_no_tracebacks(server: LiveServer, tmp_path: Path) -> None:
    assert "Traceback" not in server.log()
