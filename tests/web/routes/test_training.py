import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.rnn import weights as weights_io
from app.settings import Settings
from tests.waiting import stays

SINE = {"task": "sine", "task_params": {"length": 8}, "batch_size": 4, "early_stop": None}
SINE_MODEL = {
    "input_size": 1,
    "hidden_size": 6,
    "output_size": 1,
    "output_mode": "last",
}


def sine_model(client) -> str:
    response = client.post("/api/v1/models", json={"config": SINE_MODEL})
    return str(response.json()["id"])


def wait_for(client, session_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/training/{session_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def test_training_runs_to_the_end_and_records_history_and_weights(client) -> None:
    model_id = sine_model(client)
    before = client.get(f"/api/v1/models/{model_id}/weights").content
    response = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 30, "report_every": 10}
    )
    assert response.status_code == 202
    started = response.json()
    assert started["model_id"] == model_id and started["steps"] == 30
    assert started["training"]["optimizer"] == "adam"  # the task's default
    assert started["training"]["task_params"] == {"length": 8}
    done = wait_for(client, started["id"], ("finished",))
    assert done["step"] == 30 and done["latest"]["step"] == 30
    assert set(done["latest"]["metrics"]) == {"mse", "relative_mse"}
    history = client.get(f"/api/v1/training/{started['id']}/history").json()
    assert [r["step"] for r in history["records"]] == [10, 20, 30]
    assert history["last_step"] == 30
    assert history["records"][-1]["loss"] == done["latest"]["loss"]
    page = client.get(f"/api/v1/training/{started['id']}/history?after_step=10&limit=1").json()
    assert [r["step"] for r in page["records"]] == [20] and page["last_step"] == 20
    after = client.get(f"/api/v1/models/{model_id}/weights").content
    assert after != before
    info = client.get(f"/api/v1/models/{model_id}").json()
    assert info["weights_version"] > 1
    listed = client.get(f"/api/v1/training?model_id={model_id}").json()
    assert [s["id"] for s in listed] == [started["id"]]
    assert client.get("/api/v1/training?model_id=other").json() == []


def test_pause_step_resume_and_stop(client) -> None:
    model_id = sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 100_000}
    ).json()["id"]
    paused = client.post(f"/api/v1/training/{session}/pause").json()
    assert paused["status"] == "paused" and paused["control"] == "pause"
    weights = client.get(f"/api/v1/models/{model_id}/weights").content
    _, params = weights_io.load(weights)
    step = paused["step"]
    stays(
        lambda: client.get(f"/api/v1/training/{session}").json()["step"] == step,
        0.2,
        "a paused session made a step",
    )
    stepped = client.post(f"/api/v1/training/{session}/step").json()
    assert stepped["status"] == "paused" and stepped["step"] == step + 1
    # the weights of the paused session are saved: a forward pass sees them
    _, stepped_params = weights_io.load(client.get(f"/api/v1/models/{model_id}/weights").content)
    assert not np.array_equal(params["layer0.W_hh"], stepped_params["layer0.W_hh"])
    resumed = client.post(f"/api/v1/training/{session}/resume").json()
    assert resumed["status"] == "running"
    stopped = client.post(f"/api/v1/training/{session}/stop").json()
    assert stopped["status"] == "stopped" and stopped["step"] >= step + 1
    for action in ("pause", "resume", "step", "stop"):
        again = client.post(f"/api/v1/training/{session}/{action}")
        assert again.status_code == 409
        assert "stopped" in again.json()["detail"]


def test_training_on_the_users_own_arrays(client) -> None:
    model_id = client.post(
        "/api/v1/models",
        json={
            "config": {
                "input_size": 1,
                "hidden_size": 4,
                "output_size": 2,
                "head": "softmax",
                "loss": "cross_entropy",
                "output_mode": "last",
            }
        },
    ).json()["id"]
    inputs = [[[0.0], [1.0]], [[1.0], [0.0]], [[1.0], [1.0]], [[0.0], [0.0]]]
    body = {"data": {"inputs": inputs, "targets": [1, 0, 1, 0]}, "steps": 20, "batch_size": 4}
    session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()
    done = wait_for(client, session["id"], ("finished",))
    assert done["step"] == 20 and "accuracy" in done["latest"]["metrics"]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"task": "nosuch"}, 422, "task", "no task named 'nosuch'"),
        ({}, 422, "task", "training needs a task"),
        ({"task": "sine", "lr": -1}, 422, None, "greater than 0"),
        ({"task": "sine", "steps": True}, 422, None, "valid integer"),
        ({"task": "sine", "lr": "0.1"}, 422, None, "valid number"),
        ({"task": "sine", "colour": 1}, 422, None, "colour"),
        ({"task": "sine", "task_params": {"length": 1}}, 422, None, "length must be at least 2"),
        ({"task": "binary_addition"}, 422, None, "task 'binary_addition' needs input_size = 2"),
        (
            {"task": "sine", "data": {"inputs": [[0.0]], "targets": [0.0]}},
            422,
            "data",
            "either a task or data",
        ),
        ({"data": {"inputs": [[0.0], [1.0, 2.0]], "targets": [0.0]}}, 422, "data.inputs[1]", ""),
        ({"data": {"inputs": [[0.0]], "targets": [[1.0, 2.0]]}}, 422, None, "does not fit"),
    ],
)
def test_bad_training_requests_are_4xx_naming_the_problem(
    client, body, status, field, message
) -> None:
    model_id = sine_model(client)
    response = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    if field is not None:
        assert answer["field"] == field
    assert message in str(answer["detail"])


def test_unknown_model_and_session_are_404(client) -> None:
    assert client.post("/api/v1/models/nope/train", json=SINE).status_code == 404
    for path in ("", "/history"):
        response = client.get(f"/api/v1/training/nope{path}")
        assert response.status_code == 404
        assert "nope" in response.json()["detail"]
    for action in ("pause", "resume", "step", "stop"):
        assert client.post(f"/api/v1/training/nope/{action}").status_code == 404


def test_training_limits_are_the_settings(tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        max_training_steps=100_000,
        max_batch=8,
        max_sessions=1,
        max_steps=20,
        max_text_length=100,
    )
    with TestClient(create_app(settings)) as client:
        model_id = sine_model(client)
        url = f"/api/v1/models/{model_id}/train"
        cases = [
            ({**SINE, "steps": 100_001}, "steps", "max_training_steps"),
            ({**SINE, "steps": 5, "batch_size": 9}, "batch_size", "max_batch"),
            ({**SINE, "steps": 5, "task_params": {"length": 21}}, "task_params", "max_steps"),
            (
                {"data": {"inputs": [[0.0]] * 21, "targets": [0.0]}, "steps": 5, "batch_size": 1},
                "data.inputs",
                "max_steps",
            ),
        ]
        for body, field, setting in cases:
            response = client.post(url, json=body)
            assert response.status_code == 422, body
            assert response.json()["field"] == field
            assert response.json()["limit"]["setting"] == setting
        char = client.post(
            "/api/v1/models",
            json={"config": {"input_size": 3, "hidden_size": 4, "output_size": 3}},
        ).json()["id"]
        text = client.post(
            f"/api/v1/models/{char}/train",
            json={
                "task": "char_lm",
                "steps": 5,
                "batch_size": 2,
                "task_params": {"text": "ab" * 51},
            },
        )
        assert text.json()["field"] == "task_params.text"
        assert text.json()["limit"] == {"setting": "max_text_length", "value": 100}
        first = client.post(url, json={**SINE, "steps": 100_000})
        assert first.status_code == 202
        assert client.post(f"/api/v1/training/{first.json()['id']}/pause").status_code == 200
        second = client.post(url, json={**SINE, "steps": 5})
        assert second.status_code == 429
        assert second.json()["limit"] == {"setting": "max_sessions", "value": 1}
        assert "RNN_EXPLORER_MAX_SESSIONS" in second.json()["detail"]
        client.post(f"/api/v1/training/{first.json()['id']}/stop")
        assert client.post(url, json={**SINE, "steps": 5}).status_code == 202


def test_every_training_preset_starts_on_its_model(client) -> None:
    presets = client.get("/api/v1/presets").json()
    training = [p for p in presets if p["training"] is not None]
    assert len(training) >= 5
    for preset in training:
        model = client.post("/api/v1/models", json={"config": preset["model"]}).json()
        body = {**preset["training"], "steps": 1}
        response = client.post(f"/api/v1/models/{model['id']}/train", json=body)
        assert response.status_code == 202, (preset["name"], response.text)
        wait_for(client, response.json()["id"], ("finished", "early_stopped"))


def test_presets_and_shape_examples(client) -> None:
    shapes = client.get("/api/v1/presets/SimpleRNN%20shapes").json()
    assert shapes["example_shape"] == [1, 250, 32] and shapes["task"] is None
    example = client.get("/api/v1/presets/SimpleRNN%20shapes/example?seed=1").json()
    assert np.shape(example["inputs"]) == (1, 250, 32)
    model_id = client.post("/api/v1/models", json={"config": example["config"]}).json()["id"]
    inputs = {"inputs": example["inputs"]}
    body = client.post(f"/api/v1/models/{model_id}/forward", json=inputs).json()
    assert np.shape(body["outputs"])[-1] == example["config"]["output_size"]
    assert client.get("/api/v1/presets/nope").status_code == 404
    # a training preset's example is one example of its task, with the preset's parameters,
    # and the preset's model runs it
    preset = client.get("/api/v1/presets/Binary%20addition").json()
    trains = client.get("/api/v1/presets/Binary%20addition/example?seed=3").json()
    query = {"seed": 3, "batch_size": 1, **preset["task_params"]}
    sample = client.get(f"/api/v1/tasks/{preset['task']}/sample", params=query).json()
    assert trains["inputs"] == sample["inputs"] and trains["config"] == preset["model"]
    model_id = client.post("/api/v1/models", json={"config": trains["config"]}).json()["id"]
    answer = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": trains["inputs"]})
    assert answer.status_code == 200, answer.text


def test_train_over_the_stream_sends_session_metrics_and_end(client) -> None:
    model_id = sine_model(client)
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "train", **SINE, "steps": 20, "report_every": 5})
        session = ws.receive_json()
        assert session["type"] == "session" and session["status"] == "running"
        frames = []
        while (frame := ws.receive_json())["type"] != "end":
            frames.append(frame)
        assert frame == {
            "type": "end",
            "v": 1,
            "session": session["session"],
            "status": "finished",
            "reason": "finished all 20 steps",
            "error": None,
        }
    assert [f["step"] for f in frames] == [5, 10, 15, 20]
    assert all(f["type"] == "metrics" and f["session"] == session["session"] for f in frames)
    history = client.get(f"/api/v1/training/{session['session']}/history").json()["records"]
    assert [{**r, "type": "metrics", "v": 1, "session": session["session"]} for r in history] == (
        frames
    )


def test_follow_replays_after_a_step_and_refuses_another_models_session(client) -> None:
    model_id, other = sine_model(client), sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 20, "report_every": 5}
    ).json()["id"]
    wait_for(client, session, ("finished",))
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "follow", "session": session, "after_step": 10})
        steps = [ws.receive_json() for _ in range(3)]
    assert [f.get("step") for f in steps] == [15, 20, None]
    assert steps[-1]["status"] == "finished"
    with client.websocket_connect(f"/api/v1/models/{other}/stream") as ws:
        ws.send_json({"type": "follow", "session": session})
        error = ws.receive_json()
    assert error["type"] == "error" and error["field"] == "session"


def test_deleting_a_model_stops_its_sessions(client) -> None:
    model_id = sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 100_000}
    ).json()["id"]
    assert client.delete(f"/api/v1/models/{model_id}").status_code == 204
    stopped = wait_for(client, session, ("stopped",))
    assert stopped["control"] == "stop"
    assert client.get(f"/api/v1/models/{model_id}").status_code == 404
    assert client.get(f"/api/v1/training/{session}/history").status_code == 200
    assert client.post(f"/api/v1/training/{session}/resume").status_code == 409


def test_history_paging_bounds_are_422_not_500(client) -> None:
    model_id = sine_model(client)
    session = client.post(f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 5}).json()[
        "id"
    ]
    for query in ("after_step=99999999999999999999", "after_step=-2", "limit=0", "limit=10001"):
        response = client.get(f"/api/v1/training/{session}/history?{query}")
        assert response.status_code == 422, query
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "follow", "session": session, "after_step": 2**70})
        error = ws.receive_json()
    assert error["type"] == "error" and error["field"] == "follow.after_step"
