"""Kill the server mid-training and mid-save, start it again: every stored model is intact.

The server is a real `python -m app` process; SIGKILL is a crash (no lifespan shutdown, no
checkpoint), SIGTERM a graceful stop. After each, a fresh server on the same data directory must
list every model it acknowledged, serve weights that parse as safetensors and load into the
engine, run a forward pass, and report interrupted training sessions that resume from their
checkpoint.
"""

import json
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from safetensors.numpy import load as load_safetensors

from app.rnn import ModelConfig, Network
from app.rnn.weights import from_pytorch
from app.rnn.weights import save as save_weights
from tests.servers import LiveServer
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

BINARY_ADDITION_MODEL = {
    "input_size": 2,
    "hidden_size": 16,
    "output_size": 1,
    "head": "sigmoid",
    "loss": "bce",
    "seed": 3,
}

# The restarted server is the same service: the tests act as its instructor, who sees every
# model whichever client made it (and has no quota, so the save hammer is never refused).
INSTRUCTOR = "fault-tests-instructor-token"


def _client(base_url: str) -> httpx2.Client:
    return httpx2.Client(
        base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {INSTRUCTOR}"}
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _create(client: httpx2.Client, config: dict[str, Any]) -> str:
    reply = client.post("/api/v1/models", json={"config": config})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def _session_id(reply: httpx2.Response) -> str:
    body = reply.json()
    return str(body.get("id") or body["session"])


def _assert_model_intact(client: httpx2.Client, model_id: str) -> None:
    """The stored model answers, its weights parse and load, and a forward pass is finite."""
    info = client.get(f"/api/v1/models/{model_id}")
    assert info.status_code == 200, info.text
    config = ModelConfig.from_dict(info.json()["config"])
    weights = client.get(f"/api/v1/models/{model_id}/weights")
    assert weights.status_code == 200, weights.text
    tensors = load_safetensors(weights.content)
    net = Network(config, from_pytorch(config, tensors))
    X = np.linspace(-1, 1, 5 * config.input_size).reshape(5, config.input_size)
    reply = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": X.tolist()})
    assert reply.status_code == 200, reply.text
    served = np.asarray(reply.json()["outputs"], dtype=float).reshape(-1)
    expected = net.forward(X[None]).Y.reshape(-1)
    np.testing.assert_allclose(served, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "graceful"])
def test_a_server_stopped_during_training_keeps_the_model_and_resumes_the_session(
    data_dir: Path, sig: signal.Signals
) -> None:
    server = LiveServer(data_dir, snapshot_seconds=0.2, instructor_token=INSTRUCTOR)
    server.start()
    with _client(server.base_url) as client:
        model_id = _create(client, BINARY_ADDITION_MODEL)
        started = client.post(
            f"/api/v1/models/{model_id}/train",
            json={
                "task": "binary_addition",
                "steps": 100_000,
                "report_every": 100,
                "seed": 7,
                "early_stop": None,  # keep training past 100 % so the kill lands mid-session
            },
        )
        assert started.status_code == 202, started.text
        session_id = _session_id(started)

        def progressed() -> int:
            return int(client.get(f"/api/v1/training/{session_id}").json()["step"])

        wait_until(lambda: progressed() >= 300, 120, "300 training steps")
        version = client.get(f"/api/v1/models/{model_id}").json()["weights_version"]
        wait_until(
            lambda: client.get(f"/api/v1/models/{model_id}").json()["weights_version"] > version,
            30,
            "a snapshot after step 300",
        )
    server.stop(sig)

    server = LiveServer(data_dir, instructor_token=INSTRUCTOR)
    server.start()
    try:
        with _client(server.base_url) as client:
            _assert_model_intact(client, model_id)
            status = client.get(f"/api/v1/training/{session_id}").json()
            assert status["status"] == "interrupted", status
            assert status["resumable"] is True
            checkpoint_step = int(status["step"])
            assert checkpoint_step >= 300
            history = client.get(f"/api/v1/training/{session_id}/history").json()
            steps = [int(record["step"]) for record in history["records"]]
            assert steps == sorted(steps)
            assert steps and steps[-1] >= 300
            resumed = client.post(f"/api/v1/training/{session_id}/resume")
            assert resumed.status_code == 200, resumed.text
            wait_until(
                lambda: (
                    int(client.get(f"/api/v1/training/{session_id}").json()["step"])
                    > checkpoint_step + 50
                ),
                60,
                "the resumed session to make progress",
            )
            stopped = client.post(f"/api/v1/training/{session_id}/stop")
            assert stopped.status_code == 200, stopped.text
            _assert_model_intact(client, model_id)
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def _hammer_saves(base_url: str, acknowledged: list[str], stop: threading.Event) -> None:
    """Create and import models as fast as the server takes them; record every 201."""
    rng = np.random.default_rng(0)
    with _client(base_url) as client:
        while not stop.is_set():
            try:
                kind = rng.integers(3)
                if kind == 0:
                    config = {"input_size": 8, "hidden_size": 128, "output_size": 8, "cell": "lstm"}
                    reply = client.post("/api/v1/models", json={"config": config})
                elif kind == 1:
                    config = {"input_size": 4, "hidden_size": 64, "output_size": 2, "cell": "gru"}
                    reply = client.post("/api/v1/models", json={"config": config})
                else:
                    config = {"input_size": 3, "hidden_size": 128, "output_size": 3}
                    model = ModelConfig.from_dict(config)
                    blob = save_weights(model, Network(model).params)
                    reply = client.post(
                        "/api/v1/models/import",
                        files={"weights": ("w.safetensors", blob)},
                        data={"config": json.dumps(config)},
                    )
                if reply.status_code == 201:
                    acknowledged.append(str(reply.json()["id"]))
            except httpx2.HTTPError:
                return  # the server died under us: that is the point


def test_a_server_killed_while_saving_models_leaves_every_stored_model_loadable(
    data_dir: Path,
) -> None:
    acknowledged: list[str] = []
    rounds = 4
    for round_ in range(rounds):
        server = LiveServer(data_dir, instructor_token=INSTRUCTOR)
        server.start()
        stop = threading.Event()
        writer = threading.Thread(
            target=_hammer_saves, args=(server.base_url, acknowledged, stop), daemon=True
        )
        writer.start()
        # Killed while saving: after a few acknowledged saves of this round, at a seeded moment.
        wanted = len(acknowledged) + 2
        wait_until(lambda: len(acknowledged) >= wanted, 60, "saves to be acknowledged")  # noqa: B023
        time.sleep(random.Random(round_).random() * 0.5)
        server.stop(signal.SIGKILL)
        stop.set()
        writer.join(30)
    assert len(acknowledged) > 5, "the writer never got a model saved: the test proves nothing"

    server = LiveServer(data_dir, instructor_token=INSTRUCTOR)
    server.start()
    try:
        with _client(server.base_url) as client:
            listed = client.get("/api/v1/models")
            assert listed.status_code == 200, listed.text
            body = listed.json()
            items = body["models"] if isinstance(body, dict) else body
            stored = {str(item["id"]) for item in items}
            # Every acknowledged save survived the crash...
            assert set(acknowledged) <= stored
            # ...and everything stored, acknowledged or caught mid-flight, is whole.
            for model_id in sorted(stored):
                _assert_model_intact(client, model_id)
    finally:
        server.stop()
