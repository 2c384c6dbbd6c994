"""kill -9 in a loop while the server writes models and snapshots, then a restart: the periodic
sweep (not only the one at start-up) leaves no orphan. What is an orphan is read from the data
directory itself: its files against the rows of its SQLite database."""

import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx2

from tests.servers import LiveServer
from tests.waiting import wait_until

INSTRUCTOR = "orphan-sweep-tests-instructor-token"
BIG = {"input_size": 8, "hidden_size": 512, "output_size": 8, "cell": "lstm"}  # ~4 MB of weights
SINE_MODEL = {"input_size": 1, "hidden_size": 64, "output_size": 1, "output_mode": "last"}
GRACE = 1.0


def orphans(data: Path) -> list[Path]:
    """Temp files, weights without a model row, snapshots without a session row."""
    with sqlite3.connect(f"file:{data / 'rnn-explorer.sqlite3'}?mode=ro", uri=True) as db:
        models = {row[0] for row in db.execute("SELECT id FROM models")}
        sessions = {row[0] for row in db.execute("SELECT id FROM sessions")}
    found = []
    for path in [*(data / "models").iterdir(), *(data / "blobs").iterdir()]:
        name = path.name
        if name.endswith(".tmp") or (
            path.parent.name == "models" and name.removesuffix(".safetensors") not in models
        ):
            found.append(path)
        elif path.parent.name == "blobs":
            session = name.removeprefix("session-").removesuffix("-snapshot.safetensors")
            if session not in sessions:
                found.append(path)
    return found


def hammer(base_url: str, stop: threading.Event) -> None:
    """Create big models until the server dies under it."""
    headers = {"Authorization": f"Bearer {INSTRUCTOR}"}
    with httpx2.Client(base_url=base_url, timeout=10, headers=headers) as http:
        while not stop.is_set():
            try:
                http.post("/api/v1/models", json={"config": BIG})
            except httpx2.HTTPError:
                return


def test_kill_9_in_a_loop_leaves_no_orphan_after_the_periodic_sweep(tmp_path: Path) -> None:
    """Victims: servers killed -9 while they write; the keeper: a server on the same data
    directory that runs throughout, never restarted, so only its periodic sweep can collect
    what the victims leave; then a restart of a victim, and still no orphan."""
    data = tmp_path / "data"
    settings = {
        "instructor_token": INSTRUCTOR,
        "snapshot_seconds": 0.02,
        "sweep_seconds": 0.5,
        "orphan_grace_seconds": GRACE,
    }
    keeper = LiveServer(data, **settings)
    victim = LiveServer(data, **settings)
    headers = {"Authorization": f"Bearer {INSTRUCTOR}"}
    left: list[int] = []
    keeper.start()
    try:
        for round_ in range(6):
            victim.start()
            with httpx2.Client(base_url=victim.base_url, timeout=30, headers=headers) as http:
                model = http.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
                task = {"task": "sine", "task_params": {"length": 64}, "batch_size": 32}
                body = {**task, "steps": 10**5, "early_stop": None}
                reply = http.post(f"/api/v1/models/{model}/train", json=body)
                assert reply.status_code == 202, reply.text
            stop = threading.Event()
            threads = [
                threading.Thread(target=hammer, args=(victim.base_url, stop)) for _ in range(3)
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.4 + 0.15 * round_)
            victim.stop(signal.SIGKILL)
            left.append(len(orphans(data)))
            stop.set()
            for thread in threads:
                thread.join(15)
        # the kills did leave orphans behind (or this test would prove nothing)
        assert sum(left) > 0, left
        wait_until(lambda: not orphans(data), 10 * GRACE, "the keeper's sweep left orphans")
        assert "left behind by a process that was killed" in keeper.log()
    finally:
        keeper.stop()
    victim.start()
    try:
        time.sleep(3 * GRACE)
        assert orphans(data) == []
    finally:
        victim.stop()
