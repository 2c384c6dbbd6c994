"""The worker's stream places over real sockets: a burst gets exactly the limit, one owner's
sockets do not lock another out, a socket that makes no progress gives its place back whatever it
sends, a reader that stops reading is closed, and the passes held for readers have a budget."""

import asyncio
import gc
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress

import httpx2
import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.rnn.passes import ForwardTrace
from app.services.models import Pass
from app.settings import Settings
from tests.servers import ThreadServer, live_server
from tests.waiting import wait_until


class Owner:
    """A visitor with a bearer token of its own and one model."""

    def __init__(self, server: ThreadServer, hidden_size: int = 4) -> None:
        self.server = server
        self.token = httpx2.post(f"{server.url}/api/v1/tokens", timeout=30).json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        config = {"input_size": 1, "hidden_size": hidden_size, "output_size": 1}
        created = httpx2.post(
            f"{server.url}/api/v1/models", json={"config": config}, headers=self.headers
        )
        created.raise_for_status()
        self.stream_url = f"{server.ws_url}/api/v1/models/{created.json()['id']}/stream"

    def connect(self, **options):
        return connect(self.stream_url, additional_headers=self.headers, **options)


def playing(T: int = 200, rate: float = 2.0) -> str:
    """A run that keeps its socket busy: T frames at `rate` per second."""
    return json.dumps({"type": "run", "inputs": [[0.1]] * T, "rate": rate})


def test_a_burst_of_connections_gets_exactly_max_streams(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, max_streams=5, max_streams_per_owner=100)
    with live_server(settings) as server:
        owner = Owner(server)

        async def one() -> str:
            ws = await connect_async(owner.stream_url, additional_headers=owner.headers)
            try:
                await ws.send(playing())
                first = json.loads(await ws.recv())
                if first["type"] == "start":
                    await asyncio.sleep(1.0)  # hold the place while the others arrive
                    return "served"
                assert (
                    first["field"] == "stream" and "RNN_EXPLORER_MAX_STREAMS" in first["detail"]
                ), first
                await ws.wait_closed()
            except ConnectionClosed:
                pass
            finally:
                await ws.close()
            assert ws.close_code == 1013, ws.close_code
            return "refused"

        async def burst() -> list[str]:
            return await asyncio.gather(*(one() for _ in range(30)))

        # A loop of its own, in a thread: the test's thread may already run one.
        with ThreadPoolExecutor(1) as pool:
            outcomes = pool.submit(asyncio.run, burst()).result()
        assert outcomes.count("served") == 5, outcomes
        wait_until(lambda: server.app.state.stream_stats.open == 0, 10, "places not returned")


def test_one_owners_busy_sockets_do_not_lock_another_out(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, max_streams=8, max_streams_per_owner=2)
    with live_server(settings) as server:
        a, b = Owner(server), Owner(server)
        with a.connect() as first, a.connect() as second:
            for ws in (first, second):
                ws.send(playing())
                assert json.loads(ws.recv())["type"] == "start"
            with a.connect() as third:
                error = json.loads(third.recv())
                assert (
                    error["field"] == "stream"
                    and "RNN_EXPLORER_MAX_STREAMS_PER_OWNER" in error["detail"]
                )
                with pytest.raises(ConnectionClosed) as closed:
                    third.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            with b.connect() as other:
                other.send(json.dumps({"type": "run", "inputs": [[0.1]] * 3}))
                frames = [json.loads(other.recv()) for _ in range(5)]
                assert [f["type"] for f in frames] == ["start", *["forward"] * 3, "summary"]


def test_a_full_worker_closes_the_longest_idle_socket_for_a_newcomer(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, max_streams=3, stream_evict_seconds=0.5)
    with live_server(settings) as server:
        a, b = Owner(server), Owner(server)
        with ExitStack() as stack:
            idle = [stack.enter_context(a.connect()) for _ in range(3)]  # never a command
            time.sleep(0.8)
            with b.connect() as newcomer:
                newcomer.send(json.dumps({"type": "run", "inputs": [[0.1]] * 2}))
                assert json.loads(newcomer.recv())["type"] == "start"
            evicted = 0
            for ws in idle:
                try:
                    message = json.loads(ws.recv(timeout=1))  # nothing comes to an open one
                except TimeoutError:
                    message = None
                if message is not None and message["type"] == "error":
                    assert "make room" in message["detail"], message
                    with pytest.raises(ConnectionClosed) as closed:
                        ws.recv(timeout=3)
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
                    evicted += 1
            assert evicted == 1
            assert server.app.state.stream_stats.evicted == 1


def test_commands_without_progress_do_not_hold_a_place(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, stream_idle_seconds=1.0)
    with live_server(settings) as server:
        owner = Owner(server)
        with owner.connect() as ws:
            ws.send(json.dumps({"type": "run", "inputs": [[0.1]] * 50, "manual": True}))
            assert json.loads(ws.recv())["type"] == "start"
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while time.monotonic() - started < 10:
                    ws.send(json.dumps({"type": "pause"}))  # a no-op on a paused run
                    with suppress(TimeoutError):
                        ws.recv(timeout=0.3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert time.monotonic() - started < 4
        wait_until(lambda: server.app.state.stream_stats.open == 0, 10, "place not returned")


def test_a_reader_that_stops_reading_is_closed_and_its_pass_released(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, stream_stall_seconds=1.0, stream_queue_frames=2)
    with live_server(settings) as server:
        owner = Owner(server, hidden_size=256)
        stats = server.app.state.stream_stats
        T = 600
        command = {"type": "run", "inputs": [[0.01]] * T, "targets": [[0.0]] * T}
        with owner.connect(max_size=None, max_queue=1, compression=None) as ws:
            ws.send(json.dumps(command))
            assert json.loads(ws.recv())["type"] == "start"
            assert stats.held_bytes > 0
            # Stop reading: the kernel's buffers fill, then the server's queue, then the bound.
            wait_until(lambda: stats.stalled == 1, 20, "the stalled reader was not closed")
            wait_until(lambda: stats.open == 0 and stats.held_bytes == 0, 10, "not released")
            received = 0
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=10)
                    received += 1
            assert received < 2 * T


def test_runs_beyond_the_stream_memory_budget_are_refused_naming_it(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, stream_memory_bytes=200_000)
    with live_server(settings) as server:
        owner = Owner(server, hidden_size=64)
        with owner.connect() as ws:
            ws.send(json.dumps({"type": "run", "inputs": [[0.1]] * 1000}))
            error = json.loads(ws.recv())
            assert error["type"] == "error" and error["field"] == "stream"
            assert (
                "RNN_EXPLORER_STREAM_MEMORY_BYTES" in error["detail"]
                and "200000" in error["detail"]
            )
            ws.send(json.dumps({"type": "run", "inputs": [[0.1]] * 10}))  # a small one fits
            frames = [json.loads(ws.recv()) for _ in range(12)]
            assert frames[-1]["type"] == "summary"
        assert server.app.state.stream_stats.held_bytes == 0


def test_a_refused_pass_is_dropped_at_once_not_by_the_cyclic_collector(tmp_path) -> None:
    # A pass kept alive by a reference cycle (its frame, the error, the error's traceback) goes
    # only when the cyclic collector runs; with it off, the pass must still go with the refusal.
    settings = Settings(data_dir=tmp_path, stream_memory_bytes=200_000)
    with live_server(settings) as server:
        owner = Owner(server, hidden_size=64)
        gc.collect()
        gc.disable()
        try:
            with owner.connect() as ws:
                ws.send(json.dumps({"type": "run", "inputs": [[0.1]] * 1000}))
                assert "STREAM_MEMORY_BYTES" in json.loads(ws.recv())["detail"]
                wait_until(lambda: server.app.state.stream_stats.jobs == 0, 10, "job still on")
                passes = [o for o in gc.get_objects() if isinstance(o, (Pass, ForwardTrace))]
        finally:
            gc.enable()
    assert passes == []
