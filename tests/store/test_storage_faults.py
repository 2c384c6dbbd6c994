"""A full or read-only data directory of the embedded SQLite store, for real: a 2 MiB tmpfs
filled up under a running `python -m app`, or remounted read-only between two runs. Writes
answer 507 (full) or 503 (read-only) naming the path and the cause; reads keep working; DELETE
frees space; the server starts on such a directory in read-only mode and says so in /health; a
session whose snapshot could not be written is failed with the error on its row."""

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.servers import LiveServer
from tests.waiting import wait_until

INSTRUCTOR = "storage-fault-tests-instructor-token"
SINE_MODEL = {"input_size": 1, "hidden_size": 6, "output_size": 1, "output_mode": "last"}
MODEL = {"input_size": 2, "hidden_size": 64, "output_size": 2}  # ~70 kB of weights


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own (unmounted after the test, whatever is mounted under it)."""
    point = tmp_path / "disk"
    point.mkdir()
    mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point))
    try:
        yield point
    finally:
        subprocess.run(["umount", "-R", "-l", str(point)], check=False)


def fill(disk: Path) -> Path:
    """Take every free block of `disk` with one file; returns it."""
    filler = disk / "filler"
    with filler.open("ab", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    assert os.statvfs(disk).f_bavail == 0
    return filler


def free_blocks(disk: Path) -> int:
    return os.statvfs(disk).f_bavail


def client(server: LiveServer) -> httpx2.Client:
    return httpx2.Client(
        base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {INSTRUCTOR}"}
    )


def create(http: httpx2.Client) -> httpx2.Response:
    return http.post("/api/v1/models", json={"config": MODEL})


def assert_fault(reply: httpx2.Response, status: int, fault: str, data_dir: Path) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["storage"]["fault"] == fault
    assert str(data_dir) in body["detail"] and str(data_dir) in body["storage"]["path"]
    assert body["storage"]["cause"] in body["detail"]


def assert_reads_work(http: httpx2.Client, model_ids: list[str]) -> None:
    listed = http.get("/api/v1/models")
    assert listed.status_code == 200, listed.text
    assert {m["id"] for m in listed.json()} >= set(model_ids)
    for model_id in model_ids:
        assert http.get(f"/api/v1/models/{model_id}/weights").status_code == 200
    assert http.get("/api/v1/training").status_code == 200


def test_a_full_directory_refuses_writes_with_507_and_a_delete_frees_space(disk: Path) -> None:
    data = disk
    server = LiveServer(data, instructor_token=INSTRUCTOR)
    with server, client(server) as http:
        ids = [create(http).json()["id"] for _ in range(3)]
        filler = fill(disk)
        refused = create(http)
        assert_fault(refused, 507, "full", data)
        assert "SQLITE_FULL" in refused.json()["detail"]
        assert_reads_work(http, ids)
        health = http.get("/api/v1/health").json()["storage"]
        assert health == {**health, "mode": "read-write", "writable": False, "fault": "full"}
        before = free_blocks(disk)
        assert http.delete(f"/api/v1/models/{ids[0]}").status_code == 204
        assert free_blocks(disk) > before
        assert http.get(f"/api/v1/models/{ids[0]}").status_code == 404
        filler.unlink()
        assert create(http).status_code == 201


def test_the_server_starts_on_a_full_directory_read_only_and_a_delete_ends_the_mode(
    disk: Path,
) -> None:
    data = disk
    server = LiveServer(data, instructor_token=INSTRUCTOR)
    with server, client(server) as http:
        ids = [create(http).json()["id"] for _ in range(3)]
    fill(disk)
    with server, client(server) as http:
        storage = http.get("/api/v1/health").json()["storage"]
        assert storage["mode"] == "read-only" and storage["fault"] == "full", storage
        assert str(data) in storage["detail"]
        assert_reads_work(http, ids)
        assert_fault(create(http), 507, "full", data)
        # deleting is the way out: the model's file goes first, then its row, and the store
        # writes again without a restart
        assert http.delete(f"/api/v1/models/{ids[0]}").status_code == 204
        assert http.get(f"/api/v1/models/{ids[0]}").status_code == 404
        assert http.get("/api/v1/health").json()["storage"]["mode"] == "read-write"
        assert {m["id"] for m in http.get("/api/v1/models").json()} == set(ids[1:])


def test_a_read_only_directory_answers_503_and_the_server_starts_on_it(disk: Path) -> None:
    data = disk
    server = LiveServer(data, instructor_token=INSTRUCTOR)
    with server, client(server) as http:
        ids = [create(http).json()["id"] for _ in range(2)]
    mount("-o", "remount,ro", str(disk))
    with server, client(server) as http:
        storage = http.get("/api/v1/health").json()["storage"]
        assert storage == {**storage, "mode": "read-only", "fault": "read-only"}
        assert str(data) in storage["detail"]
        assert_reads_work(http, ids)
        refused = create(http)
        assert_fault(refused, 503, "read-only", data)
        assert "read-only" in refused.json()["detail"]
        assert_fault(http.delete(f"/api/v1/models/{ids[0]}"), 503, "read-only", data)
        assert http.get(f"/api/v1/models/{ids[0]}").status_code == 200


def test_the_server_starts_on_an_empty_read_only_directory(disk: Path) -> None:
    mount("-o", "remount,ro", str(disk))
    server = LiveServer(disk, instructor_token=INSTRUCTOR)
    with server, client(server) as http:
        assert http.get("/api/v1/health").json()["storage"]["mode"] == "read-only"
        assert http.get("/api/v1/models").json() == []
        assert_fault(create(http), 503, "read-only", disk)


def start_training(http: httpx2.Client) -> str:
    model = http.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
    task = {"task": "sine", "task_params": {"length": 8}, "batch_size": 4, "steps": 10**5}
    started = http.post(f"/api/v1/models/{model}/train", json={**task, "early_stop": None})
    assert started.status_code == 202, started.text
    session = str(started.json()["id"])
    wait_until(lambda: http.get(f"/api/v1/training/{session}").json()["step"] > 0, 20)
    return session


def assert_failed_with(http: httpx2.Client, session: str, *words: str) -> None:
    def failed() -> bool:
        return bool(http.get(f"/api/v1/training/{session}").json()["status"] == "failed")

    wait_until(failed, 20, "the session did not fail")
    body = http.get(f"/api/v1/training/{session}").json()
    assert all(word in body["error"] for word in words), body
    # not a session to resume from an older snapshot as if nothing had happened
    assert http.post(f"/api/v1/training/{session}/resume").status_code == 409
    time.sleep(0.5)
    assert http.get(f"/api/v1/training/{session}").json()["status"] == "failed"


def test_a_session_on_a_disk_that_fills_up_is_failed_with_the_error(disk: Path) -> None:
    server = LiveServer(disk, instructor_token=INSTRUCTOR, snapshot_seconds=0.2)
    with server, client(server) as http:
        session = start_training(http)
        fill(disk)
        # the snapshot or a progress record, whichever comes first, finds the disk full
        assert_failed_with(http, session, "not saved", str(disk), "full")
