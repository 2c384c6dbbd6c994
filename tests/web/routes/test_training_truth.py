"""What the training API says about itself: each task's metrics with their range and chance
level, why a session ended, and a record for every single step asked for."""

import math

from tests.web.routes.test_training import SINE, sine_model, wait_for


def test_tasks_state_the_range_and_chance_level_of_their_metrics(client) -> None:
    tasks = {task["name"]: task for task in client.get("/api/v1/tasks").json()}
    copy = tasks["copy"]["metrics"]
    alphabet = tasks["copy"]["params"]["alphabet"]["default"]
    symbols = tasks["copy"]["params"]["symbols"]["default"]
    assert copy["accuracy"]["range"] == [0.0, 1.0]
    assert copy["accuracy"]["chance"] == 1 / alphabet
    assert math.isclose(copy["sequence_accuracy"]["chance"], (1 / alphabet) ** symbols)
    adding = tasks["binary_addition"]["metrics"]
    bits = tasks["binary_addition"]["params"]["bits"]["default"]
    assert adding["bits_right"]["chance"] == 0.5
    assert adding["accuracy"]["chance"] == 0.5**bits
    classes = tasks["spiral"]["params"]["classes"]["default"]
    assert tasks["spiral"]["metrics"]["accuracy"]["chance"] == 1 / classes
    assert tasks["waveforms"]["metrics"]["accuracy"]["chance"] == 0.25
    sine = tasks["sine"]["metrics"]
    assert sine["relative_mse"] == {
        "meaning": sine["relative_mse"]["meaning"],
        "range": None,
        "chance": None,
        "better": "min",
    }
    # every fraction the tasks report lies in its stated range
    for name in ("copy", "binary_addition", "spiral", "waveforms"):
        for metric, info in tasks[name]["metrics"].items():
            if info["range"] is not None:
                assert 0.0 <= info["chance"] <= 1.0, (name, metric)


def test_a_session_describes_its_metrics_for_its_own_task_params(client, make_model) -> None:
    task = client.get("/api/v1/tasks/copy").json()
    model_id = make_model(**{**task["default_config"], "input_size": 10, "output_size": 9})
    started = client.post(
        f"/api/v1/models/{model_id}/train",
        json={"task": "copy", "task_params": {"alphabet": 8}, "steps": 2, "start_paused": True},
    )
    assert started.status_code == 202, started.json()
    assert started.json()["metrics"]["accuracy"]["chance"] == 1 / 8
    client.post(f"/api/v1/training/{started.json()['id']}/stop")


def test_early_stop_says_which_metric_reached_which_target_at_which_step(client) -> None:
    model_id = sine_model(client)
    body = {
        **SINE,
        "steps": 500,
        "report_every": 5,
        "early_stop": {"metric": "relative_mse", "target": 50.0, "mode": "min"},
    }
    session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()["id"]
    done = wait_for(client, session, ("early_stopped",))
    records = client.get(f"/api/v1/training/{session}/history").json()["records"]
    last = records[-1]
    value = last["metrics"]["relative_mse"]
    assert value <= 50.0 and done["step"] == last["step"] == 5
    expected = f"validation relative_mse reached {value:.4g} at step 5 (target ≤ 50)"
    assert done["reason"] == last["reason"] == expected
    assert all(r["reason"] is None for r in records[:-1])


def test_finished_and_stopped_sessions_say_so(client) -> None:
    model_id = sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 10, "report_every": 5}
    ).json()["id"]
    assert wait_for(client, session, ("finished",))["reason"] == "finished all 10 steps"
    paused = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 10, "start_paused": True}
    ).json()["id"]
    stopped = client.post(f"/api/v1/training/{paused}/stop").json()
    assert stopped["status"] == "stopped"
    assert stopped["reason"] == f"stopped by request at step {stopped['step']}"


def test_a_single_step_reports_its_record(client) -> None:
    model_id = sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train",
        json={**SINE, "steps": 1000, "report_every": 500, "start_paused": True},
    ).json()["id"]
    for expected in (1, 2):
        stepped = client.post(f"/api/v1/training/{session}/step").json()
        assert stepped["step"] == expected
        records = client.get(f"/api/v1/training/{session}/history").json()["records"]
        assert [r["step"] for r in records] == list(range(1, expected + 1))
        assert stepped["latest"]["step"] == expected
    client.post(f"/api/v1/training/{session}/stop")


def test_following_a_session_streams_the_reason_it_ended(client) -> None:
    model_id = sine_model(client)
    body = {
        **SINE,
        "steps": 500,
        "report_every": 5,
        "early_stop": {"metric": "relative_mse", "target": 50.0, "mode": "min"},
    }
    session = client.post(f"/api/v1/models/{model_id}/train", json=body).json()["id"]
    done = wait_for(client, session, ("early_stopped",))
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "follow", "session": session})
        frames = []
        while (frame := ws.receive_json())["type"] != "end":
            frames.append(frame)
    assert frame["status"] == "early_stopped"
    assert frames[-1]["reason"] == done["reason"]
    # the end frame says it too, and a stopped session's end names the step it stopped at
    assert frame["reason"] == done["reason"] and frame["error"] is None
    assert done["reason"].startswith("validation relative_mse reached")


def test_the_end_of_a_followed_stopped_session_says_where_it_stopped(client) -> None:
    model_id = sine_model(client)
    session = client.post(
        f"/api/v1/models/{model_id}/train", json={**SINE, "steps": 5000, "start_paused": True}
    ).json()["id"]
    stopped = client.post(f"/api/v1/training/{session}/stop").json()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "follow", "session": session})
        while (frame := ws.receive_json())["type"] != "end":
            pass
    info = client.get(f"/api/v1/training/{session}").json()
    assert frame["status"] == "stopped" == info["status"]
    assert frame["reason"] == info["reason"] == f"stopped by request at step {stopped['step']}"
