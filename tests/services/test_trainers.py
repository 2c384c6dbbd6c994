"""Sessions train in trainer processes, never in the web worker: a trainer killed with -9 is
reported interrupted, and its session resumes from its last snapshot bit for bit."""

import os
import signal
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.servers import OWNER, LiveServer, answering_worker
from tests.waiting import wait_until
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for

BODY = {**SINE, "steps": 20_000, "report_every": 100, "seed": 7}


def straight_run(
    data_dir: Path, body: dict[str, Any] | None = None
) -> tuple[bytes, list[dict[str, Any]]]:
    """The session's weights and history when nothing interrupts it."""
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        url = f"/api/v1/models/{model_id}/train"
        session = client.post(url, json=body or BODY).json()["id"]
        wait_for(client, session, ("finished",), timeout=120)
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        history = client.get(f"/api/v1/training/{session}/history").json()["records"]
    return weights, history


def without_clock(record: dict[str, Any]) -> dict[str, Any]:
    """A progress record but its wall-clock time (the only field two runs may not share)."""
    return {key: value for key, value in record.items() if key != "elapsed"}


def trainer_pid(worker: str) -> int:
    """The pid in a session's `worker` (host:pid:nonce[:identity])."""
    return int(worker.split(":")[1])


def test_a_trainer_killed_mid_session_is_interrupted_and_resumes_bit_for_bit(tmp_path) -> None:
    expected_weights, expected_history = straight_run(tmp_path / "straight")

    settings = Settings(data_dir=tmp_path / "killed", snapshot_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(f"/api/v1/models/{model_id}/train", json=BODY).json()["id"]
        url = f"/api/v1/training/{session}"
        # the trainer names itself in the row: a process of its own, not this (the web) one
        running = wait_until(
            lambda: (body := client.get(url).json())["step"] >= 200 and body,
            60,
            "the session never reached step 200",
        )
        assert running["status"] == "running"
        pid = trainer_pid(running["worker"])
        assert pid != os.getpid()
        assert pid in client.app.state.training.trainers.pids().values()
        os.kill(pid, signal.SIGKILL)

        interrupted = wait_until(
            lambda: (body := client.get(url).json())["status"] == "interrupted" and body,
            30,
            "the killed trainer's session was never reported interrupted",
        )
        assert interrupted["resumable"]
        assert interrupted["step"] < BODY["steps"]
        # the dead trainer was reaped: no zombie keeps its pid
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), 10, "the trainer was not reaped")

        resumed = client.post(f"{url}/resume").json()
        assert resumed["status"] in ("running", "finished")
        finished = wait_for(client, session, ("finished",), timeout=120)
        assert trainer_pid(finished["worker"]) != pid
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        history = client.get(f"{url}/history").json()["records"]
    assert weights == expected_weights
    assert [without_clock(record) for record in history] == [
        without_clock(record) for record in expected_history
    ]


def test_the_web_worker_never_runs_a_training_loop(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        body = {**BODY, "steps": 100_000}
        session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()["id"]
        url = f"/api/v1/training/{session}"
        wait_until(lambda: client.get(url).json()["step"] > 0, 60, "the session never trained")
        names = [thread.name for thread in threading.enumerate()]
        assert not [name for name in names if name.startswith("training-")], names
        pid = trainer_pid(client.get(url).json()["worker"])
        assert pid != os.getpid()
        # batch work: niced below the web worker, whose steps go first on shared cores
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + settings.trainer_nice)
        assert client.post(f"{url}/stop").json()["status"] == "stopped"


def running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (exited, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_trainer_never_outlives_its_killed_web_worker(tmp_path) -> None:
    with LiveServer(tmp_path) as live:
        url = live.base_url
        model_id = OWNER.post(f"{url}/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        body = {**BODY, "steps": 100_000}
        session = OWNER.post(f"{url}/api/v1/models/{model_id}/train", json=body).json()["id"]
        worker = answering_worker(url)
        status = f"{url}/api/v1/training/{session}"
        trainer = wait_until(
            lambda: (pid := trainer_pid(OWNER.get(status).json()["worker"])) != worker and pid,
            60,
            "the session's trainer never began",
        )
        wait_until(lambda: OWNER.get(status).json()["step"] > 0, 60, "it never trained")
        os.kill(worker, signal.SIGKILL)
        # its pipe to the dead worker closes: it checkpoints the session and exits
        wait_until(lambda: not running(trainer), 30, "the trainer outlived its web worker")
    with LiveServer(tmp_path) as live:
        url = live.base_url
        interrupted = OWNER.get(f"{url}/api/v1/training/{session}").json()
        assert interrupted["status"] == "interrupted" and interrupted["resumable"]
        resumed = OWNER.post(f"{url}/api/v1/training/{session}/resume", timeout=30).json()
        assert resumed["status"] == "running"
        assert OWNER.post(f"{url}/api/v1/training/{session}/stop").json()["status"] == "stopped"
