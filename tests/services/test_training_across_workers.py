"""Two uvicorn workers on one data directory: whichever answers, the answer is the same."""

import json
import time

import httpx2
from websockets.sync.client import connect

from tests.servers import OWNER, LiveServer, answering_worker, owner_headers
from tests.web.routes.test_training import SINE, SINE_MODEL

ROUNDS = 24


def fresh(method: str, url: str, **kwargs) -> httpx2.Response:
    """One request on a new connection, so the kernel may hand it to either worker."""
    with httpx2.Client(timeout=30, cookies=OWNER.cookies) as client:
        answer = client.request(method, url, **kwargs)
        OWNER.cookies.update(client.cookies)  # the visitor's cookie, kept for the next request
        return answer


def test_two_workers_answer_consistently_about_models_and_training(tmp_path) -> None:
    with LiveServer(tmp_path, workers=2) as live:
        url = live.base_url
        pids = {answering_worker(url) for _ in range(ROUNDS)}
        deadline = time.monotonic() + 30
        while len(pids) < 2:
            assert time.monotonic() < deadline, "only one worker ever answered"
            pids.add(answering_worker(url))

        created = [
            fresh("POST", f"{url}/api/v1/models", json={"config": SINE_MODEL}).json()["id"]
            for _ in range(6)
        ]
        for _ in range(ROUNDS // 4):
            listed = [m["id"] for m in fresh("GET", f"{url}/api/v1/models").json()]
            assert listed == created

        model_id = created[0]
        session = fresh(
            "POST",
            f"{url}/api/v1/models/{model_id}/train",
            json={**SINE, "steps": 100_000, "report_every": 5},
        ).json()["id"]
        steps_seen = []
        for _ in range(ROUNDS):
            status = fresh("GET", f"{url}/api/v1/training/{session}").json()
            assert status["status"] == "running"
            steps_seen.append(status["step"])
        assert steps_seen == sorted(steps_seen), "a worker answered with an older step"

        paused = fresh("POST", f"{url}/api/v1/training/{session}/pause").json()
        assert paused["status"] == "paused"
        answers = {
            json.dumps(
                {k: v for k, v in fresh("GET", f"{url}/api/v1/training/{session}").json().items()
                 if k != "updated_at"},
                sort_keys=True,
            )
            for _ in range(ROUNDS)
        }  # fmt: skip
        assert len(answers) == 1
        assert json.loads(answers.pop())["step"] == paused["step"]

        stepped = fresh("POST", f"{url}/api/v1/training/{session}/step").json()
        assert stepped["step"] == paused["step"] + 1
        weights = {
            fresh("GET", f"{url}/api/v1/models/{model_id}/weights").content for _ in range(8)
        }
        assert len(weights) == 1
        outputs = {
            json.dumps(
                fresh(
                    "POST",
                    f"{url}/api/v1/models/{model_id}/forward",
                    json={"inputs": [[0.1]] * 8},
                ).json()["outputs"]
            )
            for _ in range(8)
        }
        assert len(outputs) == 1

        ws_url = url.replace("http://", "ws://")
        with connect(
            f"{ws_url}/api/v1/models/{model_id}/stream", additional_headers=owner_headers()
        ) as ws:
            ws.send(json.dumps({"type": "follow", "session": session}))
            fresh("POST", f"{url}/api/v1/training/{session}/resume")
            first = json.loads(ws.recv(timeout=30))
            assert first["type"] == "metrics" and first["session"] == session
            stopped = fresh("POST", f"{url}/api/v1/training/{session}/stop").json()
            assert stopped["status"] == "stopped"
            frames = [first]
            while frames[-1]["type"] != "end":
                frames.append(json.loads(ws.recv(timeout=30)))
        assert frames[-1]["status"] == "stopped"
        history = fresh("GET", f"{url}/api/v1/training/{session}/history?limit=10000").json()
        metric_steps = [f["step"] for f in frames if f["type"] == "metrics"]
        assert metric_steps == [r["step"] for r in history["records"]]
        finals = {fresh("GET", f"{url}/api/v1/training/{session}").json()["step"] for _ in range(8)}
        assert finals == {stopped["step"]}
