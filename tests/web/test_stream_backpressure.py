"""A slow reader over a real socket: the server stops making frames instead of buffering them;
the memory of large passes goes back to the kernel once no stream job runs."""

import json
import time
import tracemalloc

from websockets.sync.client import connect

from app.settings import Settings
from tests.servers import OWNER, live_server, owner_headers

T, H = 600, 256


def wait_until_still(read, seconds: float = 0.5, timeout: float = 20.0) -> int:
    """Poll `read()` until it has not changed for `seconds`; returns the value."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return value
    raise AssertionError("still moving")


def test_a_stalled_reader_stalls_the_pass_and_memory_stays_bounded(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, stream_queue_frames=8)
    with live_server(settings) as server:
        config = {"input_size": 1, "hidden_size": H, "output_size": 1}
        model_id = OWNER.post(f"{server.url}/api/v1/models", json={"config": config}).json()["id"]
        stats = server.app.state.stream_stats
        inputs = [[0.01 * t] for t in range(T)]
        command = {"type": "run", "inputs": inputs, "targets": [[0.0]] * T}
        url = f"{server.ws_url}/api/v1/models/{model_id}/stream"
        with connect(
            url,
            max_size=None,
            max_queue=1,
            compression=None,
            additional_headers=owner_headers(),
        ) as ws:
            ws.send(json.dumps(command))
            first = json.loads(ws.recv())
            assert first["type"] == "start"
            # Stop reading: the pass must stop where the socket's buffers are full. The
            # server allocates in this process; tracemalloc counts what it keeps meanwhile.
            tracemalloc.start()
            try:
                made = wait_until_still(lambda: stats.frames_made)
                held = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            frames = [first]
            while frames[-1]["type"] != "summary":
                frames.append(json.loads(ws.recv()))
    total_bytes = sum(len(json.dumps(frame)) for frame in frames)
    assert len(frames) == 2 + 2 * T and frames[-1]["frames"] == 2 * T
    # Stalled after a fraction of the frames; what was made sits in the kernel's socket
    # buffers and the client's, not in the server's memory.
    assert made < len(frames) / 2, (made, len(frames))
    assert stats.queue_high_water <= settings.stream_queue_frames
    assert held < 2 * 2**20, f"the server's memory grew by {held} bytes while stalled"
    assert total_bytes > 10 * 2**20


def test_the_memory_of_large_passes_goes_back_once_no_stream_job_runs(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    with live_server(settings) as server:
        config = {"input_size": 1, "hidden_size": H, "output_size": 1}
        model_id = OWNER.post(f"{server.url}/api/v1/models", json={"config": config}).json()["id"]
        stats = server.app.state.stream_stats
        command = json.dumps(
            {"type": "run", "inputs": [[0.01 * t] for t in range(T)], "targets": [[0.0]] * T}
        )
        url = f"{server.ws_url}/api/v1/models/{model_id}/stream"
        with connect(url, max_size=None, additional_headers=owner_headers()) as ws:
            made = 0
            while stats.given_back == 0:
                assert made < 20, "the memory was never given back"
                ws.send(command)
                while json.loads(ws.recv())["type"] != "summary":
                    pass
                made += 1
                time.sleep(0.2)  # the job's end, after its summary
            # not after each pass: once the passes made add up to GIVE_BACK_AFTER_BYTES
            assert made > 1 and stats.given_back == 1
