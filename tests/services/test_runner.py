"""Everything persistent survives the server: a restart, a shutdown mid-training, a crash."""

import os
import signal
import time

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.servers import OWNER, LiveServer, answering_worker
from tests.waiting import stays, wait_until
from tests.web.routes.test_training import SINE, SINE_MODEL, wait_for


def test_restart_keeps_models_sessions_history_and_weights(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 40, "report_every": 10}
        ).json()["id"]
        finished = wait_for(client, session, ("finished",))
        model = client.get(f"/api/v1/models/{model_id}").json()
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        history = client.get(f"/api/v1/training/{session}/history").json()
    with TestClient(create_app(settings), cookies=client.cookies) as client:
        assert client.get(f"/api/v1/models/{model_id}").json() == model
        assert client.get(f"/api/v1/models/{model_id}/weights").content == weights
        assert client.get(f"/api/v1/training/{session}").json() == finished
        assert client.get(f"/api/v1/training/{session}/history").json() == history
        assert [r["step"] for r in history["records"]] == [10, 20, 30, 40]


def test_shutdown_interrupts_a_session_and_resume_continues_it_bit_for_bit(tmp_path) -> None:
    body = {**SINE, "steps": 60, "report_every": 10, "seed": 4}
    with TestClient(create_app(Settings(data_dir=tmp_path / "straight"))) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()["id"]
        wait_for(client, session, ("finished",))
        expected_weights = client.get(f"/api/v1/models/{model_id}/weights").content
        expected_history = client.get(f"/api/v1/training/{session}/history").json()["records"]

    settings = Settings(data_dir=tmp_path / "interrupted")
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        started = client.post(
            f"/api/v1/models/{model_id}/train", json={**body, "start_paused": True}
        ).json()
        session = started["id"]
        assert started["status"] == "paused" and started["step"] == 0
        for taken in range(1, 4):
            client.post(f"/api/v1/training/{session}/step")
            # The answer waits a few seconds for the update; a loaded machine may need longer.
            deadline = time.monotonic() + 30
            while client.get(f"/api/v1/training/{session}").json()["step"] < taken:
                assert time.monotonic() < deadline, f"step {taken} was never taken"
                time.sleep(0.02)
        paused = client.get(f"/api/v1/training/{session}").json()
        assert paused["status"] == "paused" and paused["step"] == 3
    with TestClient(create_app(settings), cookies=client.cookies) as client:
        interrupted = client.get(f"/api/v1/training/{session}").json()
        assert interrupted["status"] == "interrupted" and interrupted["resumable"]
        assert interrupted["step"] == paused["step"]
        assert client.post(f"/api/v1/training/{session}/pause").status_code == 409
        resumed = client.post(f"/api/v1/training/{session}/resume").json()
        assert resumed["status"] in ("running", "finished")
        assert resumed["worker"] != paused["worker"]
        wait_for(client, session, ("finished",))
        assert client.get(f"/api/v1/models/{model_id}/weights").content == expected_weights
        history = client.get(f"/api/v1/training/{session}/history").json()["records"]
    # each step taken by hand reported its record; from there on the records are the straight
    # run's (a report restarts the mean loss, so the batch's loss and the metrics are compared)
    assert [r["step"] for r in history if r["step"] <= 3] == [1, 2, 3]
    assert [(r["step"], r["loss_batch"], r["metrics"]) for r in history if r["step"] > 3] == [
        (r["step"], r["loss_batch"], r["metrics"]) for r in expected_history
    ]


def test_a_session_whose_worker_was_killed_is_reported_interrupted_and_resumable(
    tmp_path,
) -> None:
    with LiveServer(tmp_path) as live:
        url = live.base_url
        model_id = OWNER.post(f"{url}/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = OWNER.post(
            f"{url}/api/v1/models/{model_id}/train", json={**SINE, "steps": 100_000}
        ).json()
        pid = answering_worker(url)
        deadline = time.monotonic() + 30
        while OWNER.get(f"{url}/api/v1/training/{session['id']}").json()["step"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    with LiveServer(tmp_path) as live:
        url = live.base_url
        status = OWNER.get(f"{url}/api/v1/training/{session['id']}").json()
        assert status["status"] == "interrupted" and status["resumable"]
        resumed = OWNER.post(f"{url}/api/v1/training/{session['id']}/resume", timeout=30).json()
        assert resumed["status"] == "running"
        stopped = OWNER.post(f"{url}/api/v1/training/{session['id']}/stop", timeout=30).json()
        assert stopped["status"] == "stopped" and stopped["step"] >= 0


def test_a_silent_session_on_another_host_is_interrupted_after_stale_seconds(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, stale_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 20}
        ).json()["id"]
        wait_for(client, session, ("finished",))
        store = client.app.state.store
        store.update_session(session, status="running", owner="elsewhere:1:abc")
        assert client.get(f"/api/v1/training/{session}").json()["status"] == "running"
        wait_until(
            lambda: client.get(f"/api/v1/training/{session}").json()["status"] == "interrupted",
            10,
            "the silent session was never reported interrupted",
        )


def test_a_live_session_taken_for_dead_takes_itself_back_or_yields(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, heartbeat_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        store = client.app.state.store
        training = client.app.state.training
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        url = f"/api/v1/models/{model_id}/train"
        first = client.post(url, json={**SINE, "steps": 100_000}).json()["id"]
        # its trainer process names itself in the row once it has begun
        wait_until(lambda: store.get_session(first).step > 0, 30, "the session never trained")
        trainer = store.get_session(first).owner
        assert trainer != training.owner
        store.update_session(first, status="interrupted")
        deadline = time.monotonic() + 10
        while store.get_session(first).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert store.get_session(first).owner == trainer

        second = client.post(url, json={**SINE, "steps": 100_000}).json()["id"]
        wait_until(lambda: store.get_session(second).step > 0, 30, "the session never trained")
        store.update_session(second, owner="elsewhere:1:resumed")
        # The session's trainer sees the new owner at its next heartbeat and leaves.
        deadline = time.monotonic() + 20
        while training.trainers.is_running(second):
            assert time.monotonic() < deadline, "the session never noticed its new owner"
            time.sleep(0.02)
        # Its trainer has left: nothing writes its row any more.
        step = store.get_session(second).step
        stays(lambda: store.get_session(second).step == step, 0.3, "a yielded session trained on")
        assert store.get_session(second).owner == "elsewhere:1:resumed"
        client.post(f"/api/v1/training/{first}/stop")


def test_sigterm_to_uvicorn_checkpoints_running_sessions_as_interrupted(tmp_path) -> None:
    with LiveServer(tmp_path, workers=2) as live:
        url = live.base_url
        model_id = OWNER.post(f"{url}/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        body = {**SINE, "steps": 100_000, "report_every": 5}
        session = OWNER.post(f"{url}/api/v1/models/{model_id}/train", json=body).json()["id"]
        deadline = time.monotonic() + 30
        while OWNER.get(f"{url}/api/v1/training/{session}").json()["step"] < 10:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # the context sent SIGTERM and waited for uvicorn (and its workers) to exit
    with LiveServer(tmp_path) as live:
        url = live.base_url
        status = OWNER.get(f"{url}/api/v1/training/{session}").json()
        assert status["status"] == "interrupted" and status["resumable"]
        history = OWNER.get(f"{url}/api/v1/training/{session}/history").json()
        assert status["step"] >= history["last_step"] >= 10
        weights_version = OWNER.get(f"{url}/api/v1/models/{model_id}").json()["weights_version"]
        assert weights_version > 1
        resumed = OWNER.post(f"{url}/api/v1/training/{session}/step", timeout=30).json()
        assert resumed["status"] == "paused" and resumed["step"] == status["step"] + 1


def test_a_session_whose_pid_was_reused_is_interrupted_and_resumable(tmp_path) -> None:
    # A restarted container's process gets its predecessor's pid: the session's row names a live
    # pid (this one), but a process that started at another time is not its worker.
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        session = client.post(
            f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 40, "start_paused": True}
        ).json()["id"]
        client.post(f"/api/v1/training/{session}/step")
        wait_until(
            lambda: client.get(f"/api/v1/training/{session}").json()["step"] == 1,
            30,
            "the step was never taken",
        )
        cookies = dict(client.cookies)  # the same visitor after the restart
    with TestClient(create_app(settings), cookies=cookies) as client:
        store = client.app.state.store
        own = client.app.state.training.owner
        host, pid, _, identity = own.split(":", 3)
        boot, _, started = identity.rpartition(".")
        assert started != "1"
        assert pid == str(os.getpid())
        store.update_session(session, status="running", owner=f"{host}:{pid}:0ld:{boot}.1")
        status = client.get(f"/api/v1/training/{session}").json()
        assert status["status"] == "interrupted" and status["resumable"]
        resumed = client.post(f"/api/v1/training/{session}/resume").json()
        assert resumed["status"] in ("running", "finished")
        assert wait_for(client, session, ("finished",))["step"] == 40
        # the same pid with its real identity is alive: the session is not taken from it
        store.update_session(session, status="running", owner=f"{host}:{pid}:0ld:{identity}")
        assert client.get(f"/api/v1/training/{session}").json()["status"] == "running"
