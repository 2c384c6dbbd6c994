"""A client cannot hold the server: streams and training sessions past their bounds are refused,
and a silent socket is closed so that its place comes back."""

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.servers import OWNER, LiveServer, owner_headers
from tests.waiting import wait_until

IDLE_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(
        tmp_path_factory.mktemp("bounds") / "data",
        max_streams=2,
        max_sessions=1,
        stream_idle_seconds=IDLE_SECONDS,
    ) as live:
        yield live


@pytest.fixture(scope="module")
def model_id(server: LiveServer) -> str:
    config = {"input_size": 2, "hidden_size": 8, "output_size": 1, "head": "sigmoid", "loss": "bce"}
    reply = OWNER.post(f"{server.base_url}/api/v1/models", json={"config": config})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def _stream(server: LiveServer, model_id: str) -> ClientConnection:
    url = server.base_url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
    return connect(url, open_timeout=10, additional_headers=owner_headers())


def _closed_with(socket: ClientConnection, timeout: float) -> tuple[dict[str, object], int]:
    """The error frame the server sent before closing, and the close code."""
    frame = json.loads(socket.recv(timeout=timeout))
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=timeout)
    assert closed.value.rcvd is not None
    return frame, closed.value.rcvd.code


def test_a_stream_past_the_bound_is_refused_with_the_setting_named(
    server: LiveServer, model_id: str
) -> None:
    with _stream(server, model_id) as first, _stream(server, model_id) as second:
        # Slow runs keep both busy: a socket that only waits would be closed as idle.
        for busy in (first, second):
            busy.send(json.dumps({"type": "run", "inputs": [[0.0, 0.0]] * 100, "rate": 1}))
            assert json.loads(busy.recv(timeout=10))["type"] == "start"
        with _stream(server, model_id) as third:
            frame, code = _closed_with(third, timeout=5)
        assert code == 1013  # try again later
        assert frame["type"] == "error"
        assert "max_streams" in str(frame["detail"]).lower()

    def a_place_is_free() -> bool:
        with _stream(server, model_id) as again:
            again.send(json.dumps({"type": "stop"}))
            return bool(json.loads(again.recv(timeout=5))["type"] == "end")

    wait_until(a_place_is_free, 10, "the places of the closed streams never came back")


def test_a_silent_socket_is_closed_and_its_place_returns(server: LiveServer, model_id: str) -> None:
    with _stream(server, model_id) as silent:
        started = time.monotonic()
        frame, code = _closed_with(silent, timeout=10)
        waited = time.monotonic() - started
    assert code == 1001
    assert frame["type"] == "error" and "no command" in str(frame["detail"])
    assert IDLE_SECONDS * 0.9 <= waited < IDLE_SECONDS + 5


def test_a_burst_of_connections_gets_exactly_max_streams_places(
    server: LiveServer, model_id: str
) -> None:
    """60 sockets opened at once: the check and the taking of a place are one step, so exactly
    max_streams = 2 are served and the others are refused with 1013."""
    url = server.base_url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
    run = json.dumps({"type": "run", "inputs": [[0.0, 0.0]] * 100, "rate": 1})

    async def one(start: asyncio.Event) -> str:
        await start.wait()
        try:
            async with connect_async(
                url, open_timeout=30, additional_headers=owner_headers()
            ) as ws:
                await ws.send(run)
                first = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if first["type"] == "start":
                    await asyncio.sleep(2)  # hold the place while the others try
                return str(first["type"]) if first["type"] == "start" else "refused"
        except ConnectionClosed:
            return "refused"

    async def burst() -> list[str]:
        start = asyncio.Event()
        tasks = [asyncio.create_task(one(start)) for _ in range(60)]
        await asyncio.sleep(0.2)
        start.set()
        return await asyncio.gather(*tasks)

    # A loop of its own, in a thread: the test's thread may already run one.
    with ThreadPoolExecutor(1) as pool:
        outcomes = pool.submit(asyncio.run, burst()).result()
    assert outcomes.count("start") == 2, outcomes
    assert outcomes.count("refused") == 58


def test_a_paused_run_that_gets_only_no_op_commands_gives_its_place_back(
    server: LiveServer, model_id: str
) -> None:
    with _stream(server, model_id) as socket:
        socket.send(json.dumps({"type": "run", "inputs": [[0.0, 0.0]] * 5, "manual": True}))
        assert json.loads(socket.recv(timeout=10))["type"] == "start"
        started = time.monotonic()
        closed_code = None
        while closed_code is None and time.monotonic() - started < IDLE_SECONDS + 10:
            try:
                socket.send(json.dumps({"type": "pause"}))  # changes nothing, makes no frame
                with contextlib.suppress(TimeoutError):
                    socket.recv(timeout=0.2)
            except ConnectionClosed as closed:
                closed_code = closed.rcvd.code if closed.rcvd else -1
        waited = time.monotonic() - started
    assert closed_code == 1001, closed_code
    assert IDLE_SECONDS * 0.9 <= waited < IDLE_SECONDS + 5


def test_a_socket_receiving_frames_is_not_idle(server: LiveServer, model_id: str) -> None:
    # Six frames (start, 4 forward, summary) at 2 per second: the run outlasts the idle bound.
    inputs = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    with _stream(server, model_id) as socket:
        socket.send(json.dumps({"type": "run", "inputs": inputs, "rate": 2}))
        kinds = []
        started = time.monotonic()
        while not kinds or kinds[-1] != "summary":
            kinds.append(json.loads(socket.recv(timeout=10))["type"])
        assert time.monotonic() - started > IDLE_SECONDS
        assert kinds == ["start", "forward", "forward", "forward", "forward", "summary"]


def test_a_training_session_past_the_bound_is_refused(
    server: LiveServer, model_id: str, tmp_path: Path
) -> None:
    body = {"task": "binary_addition", "steps": 100_000, "report_every": 100, "early_stop": None}
    url = f"{server.base_url}/api/v1/models/{model_id}/train"
    first = OWNER.post(url, json=body, timeout=30)
    assert first.status_code == 202, first.text
    try:
        second = OWNER.post(url, json=body, timeout=30)
        assert second.status_code == 429, second.text
        assert "max_sessions" in second.text.lower()
    finally:
        session = first.json()["id"]
        stopped = OWNER.post(f"{server.base_url}/api/v1/training/{session}/stop", timeout=30)
        assert stopped.status_code == 200, stopped.text
    third = OWNER.post(url, json=body, timeout=30)  # a stopped session frees its place
    assert third.status_code == 202, third.text
    OWNER.post(f"{server.base_url}/api/v1/training/{third.json()['id']}/stop", timeout=30)
