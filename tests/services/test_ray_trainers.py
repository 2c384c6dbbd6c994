"""With `ray_address` set, sessions train as Ray actors on a real two-node cluster on loopback
(started here, stopped at the end): the controls reach the actor, and a worker node killed
mid-session leaves the session interrupted, resumed from its snapshot on the other node, bit for
bit the same as an uninterrupted run, and an actor trains on when the web worker that made it
stops."""

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import ray
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.trainer_ray import NAMESPACE, actor_name
from app.settings import Settings
from tests.services.test_trainers import BODY, straight_run, trainer_pid, without_clock
from tests.waiting import wait_until
from tests.web.routes.test_training import SINE_MODEL, wait_for

# long enough that the resumed actor is still training when the test asks where it runs
RAY_BODY = {**BODY, "steps": 10_000}


def actor_node(session_id: str) -> str:
    actor = ray.get_actor(actor_name(session_id), namespace=NAMESPACE)
    return str(ray.get(actor.node_id.remote(), timeout=30))


@pytest.mark.slow
def test_a_session_trains_as_an_actor_and_resumes_on_the_other_node_after_its_node_died(
    tmp_path: Path, ray_nodes: Any
) -> None:
    expected_weights, expected_history = straight_run(tmp_path / "straight", RAY_BODY)

    settings = Settings(
        data_dir=tmp_path / "cluster", ray_address=ray_nodes.address, snapshot_seconds=0.2
    )
    with TestClient(create_app(settings)) as client:
        model_id = client.post("/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
        started = client.post(
            f"/api/v1/models/{model_id}/train", json={**RAY_BODY, "start_paused": True}
        ).json()
        session = started["id"]
        url = f"/api/v1/training/{session}"
        # the actor begins paused; its row names it (not this process) once it has claimed it
        wait_until(
            lambda: client.get(url).json()["worker"] != started["worker"],
            120,
            "the session's actor never began",
        )
        first_node = actor_node(session)
        assert first_node in {node.node_id for node in ray_nodes.worker_nodes}
        actor_pid = trainer_pid(client.get(url).json()["worker"])
        assert actor_pid != os.getpid()
        # batch work, niced below the web workers at least as local trainer processes are
        # (Ray starts its worker processes niced on its own)
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, actor_pid) >= min(19, own + settings.trainer_nice)
        assert client.post(f"{url}/resume").json()["status"] == "running"
        paused = client.post(f"{url}/pause").json()
        assert paused["status"] == "paused"
        assert client.post(f"{url}/resume").json()["status"] == "running"
        wait_until(lambda: client.get(url).json()["step"] >= 200, 120, "never reached step 200")

        # kill -9 of the node the session trains on: its raylet and its workers at once, as
        # when the machine is lost
        node = next(n for n in ray_nodes.worker_nodes if n.node_id == first_node)
        ray_nodes.remove_node(node, allow_graceful=False)
        with contextlib.suppress(ProcessLookupError):
            os.kill(actor_pid, signal.SIGKILL)
        interrupted = wait_until(
            lambda: (body := client.get(url).json())["status"] == "interrupted" and body,
            60,
            "the session of the dead node was never reported interrupted",
        )
        assert interrupted["resumable"] and interrupted["step"] < RAY_BODY["steps"]

        assert client.post(f"{url}/resume").json()["status"] in ("running", "finished")
        second_node = actor_node(session)
        assert second_node != first_node
        cookies = dict(client.cookies)
    # the web worker has shut down: an actor is no process of it, and trains on
    with TestClient(create_app(settings), cookies=cookies) as client:
        assert client.get(url).json()["status"] in ("running", "finished")
        wait_for(client, session, ("finished",), timeout=180)
        weights = client.get(f"/api/v1/models/{model_id}/weights").content
        history = client.get(f"{url}/history").json()["records"]
    assert weights == expected_weights
    assert [without_clock(record) for record in history] == [
        without_clock(record) for record in expected_history
    ]
