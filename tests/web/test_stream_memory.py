"""The memory of a real worker (`python -m app`, a subprocess) after slow readers of large passes
close, some of them refused by the memory budget: its RSS returns close to where it started.

Measured from outside, in /proc, as a ratio of the worker's own RSS before the readers. Without
one malloc arena (app/rnn/malloc.py) the threads' arenas kept the passes' freed memory, and
without the refused pass dropped at once (app/web/stream.py, `_run`) each refused pass stayed
until the cyclic garbage collector ran: either left the worker at twice its start or more here."""

import json
import threading

from websockets.sync.client import connect

from tests.servers import OWNER, LiveServer, owner_headers, rss_bytes, settled_rss

T, H = 1000, 384  # the largest pass the default bounds allow: ~68 MiB forward and backward
READERS = 4
BUDGET = 100 * 2**20  # room for one such pass: the other readers are refused


def steady_rss(pid: int, timeout: float = 60.0) -> int:
    """The RSS once it has stayed within 1 % for 3 s (closed sockets' jobs may still be ending)."""
    value, _, settled = settled_rss(pid, timeout)
    assert settled, "the worker's RSS did not settle"
    return value


def test_rss_returns_after_slow_readers_of_the_largest_pass_close(tmp_path) -> None:
    with LiveServer(tmp_path / "data", stream_memory_bytes=BUDGET) as live:
        assert live.process is not None
        pid = live.process.pid  # one worker: uvicorn serves in this very process
        config = {"cell": "lstm", "input_size": 1, "hidden_size": H, "output_size": 1}
        created = OWNER.post(f"{live.base_url}/api/v1/models", json={"config": config})
        created.raise_for_status()
        url = f"ws://127.0.0.1:{live.port}/api/v1/models/{created.json()['id']}/stream"
        command = json.dumps(
            {"type": "run", "inputs": [[0.001 * t] for t in range(T)], "targets": [[0.0]] * T}
        )
        with connect(url, max_size=None, additional_headers=owner_headers()) as ws:
            ws.send(command)  # one fast reader first: the model loaded, the buffers warm
            while json.loads(ws.recv(timeout=120))["type"] != "summary":
                pass
        start = steady_rss(pid)

        all_in = threading.Barrier(READERS + 1, timeout=180)
        firsts: list[str] = []

        def slow_reader() -> None:
            with connect(
                url, max_size=None, max_queue=1, close_timeout=1, additional_headers=owner_headers()
            ) as ws:
                ws.send(command)
                first = json.loads(ws.recv(timeout=120))
                firsts.append(first["type"] if first["type"] != "error" else first["detail"])
                all_in.wait()  # every pass made (or refused) before any socket closes
                if first["type"] == "start":
                    for _ in range(10):
                        ws.recv(timeout=30)

        readers = [threading.Thread(target=slow_reader) for _ in range(READERS)]
        for reader in readers:
            reader.start()
        all_in.wait()
        peak = rss_bytes(pid)
        for reader in readers:
            reader.join(60)
        assert not any(reader.is_alive() for reader in readers)
        after = steady_rss(pid)

    refused = [first for first in firsts if first != "start"]
    assert len(firsts) == READERS and 1 <= len(refused) < READERS, firsts
    assert all("RNN_EXPLORER_STREAM_MEMORY_BYTES" in detail for detail in refused), refused
    assert peak > start + 100 * 2**20, (start, peak)  # the passes were really made
    assert after <= 1.3 * start, f"RSS {after / 2**20:.0f} MiB after, {start / 2**20:.0f} at start"
