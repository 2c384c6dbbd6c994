import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.waiting import stays, wait_until


def receive_until(ws, last_type: str) -> list[dict]:
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] in (last_type, "error"):
            return frames


def test_run_frames_equal_the_rest_trace_forward_ascending_backward_descending(
    client, make_model
) -> None:
    model_id = make_model(cell="lstm", num_layers=2, seed=5)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(6, 2)).tolist()
    targets = rng.normal(size=(6, 3)).tolist()
    rest = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": inputs, "targets": targets}
    ).json()
    forward = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs}).json()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": inputs, "targets": targets})
        frames = receive_until(ws, "summary")
    start, *steps, summary = frames
    assert start == {
        "type": "start",
        "v": 1,
        "T": 6,
        "layers": 2,
        "cell": "lstm",
        "batch": 1,
        "phases": ["forward", "backward"],
    }
    assert [f["type"] for f in steps] == ["forward"] * 6 + ["backward"] * 6
    assert [f["t"] for f in steps] == [0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0]
    for frame in steps[:6]:
        t = frame["t"]
        for k, layer in enumerate(forward["trace"]["layers"]):
            assert frame["H"][k] == layer["H"][t]
            assert frame["A"][k] == layer["A"][t]
            assert frame["gates"][k] == {name: value[t] for name, value in layer["gates"].items()}
        assert frame["logits"] == forward["logits"][t]
        assert frame["output"] == forward["outputs"][t]
    for frame in steps[6:]:
        t = frame["t"]
        for k, layer in enumerate(rest["trace"]["layers"]):
            assert frame["dH"][k] == layer["dH"][t]
            assert frame["dA"][k] == layer["dA"][t]
            assert frame["dH_norm"][k] == layer["dH_norm"][t]
            assert frame["step_grad_norms"][k] == {
                name: values[t] for name, values in layer["step_grad_norms"].items()
            }
            # the LSTM's dL/dC_t travels with each backward frame, equal to REST's
            assert frame["dC"][k] == layer["dC"][t]
        head = rest["trace"]["head"]["step_grad_norms"]
        assert frame["head_step_grad_norms"] == {"W_hq": head["W_hq"][t], "b_q": head["b_q"][t]}
    assert summary == {
        "type": "summary",
        "v": 1,
        "loss": rest["loss"],
        "grad_norms": rest["grad_norms"],
        "frames": 12,
    }


def test_forward_only_run_and_last_mode_output_only_at_the_end(client, make_model) -> None:
    model_id = make_model(output_mode="last")
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]})
        frames = receive_until(ws, "summary")
    assert frames[0]["phases"] == ["forward"]
    assert ["output" in f for f in frames[1:4]] == [False, False, True]
    assert frames[-1] == {"type": "summary", "v": 1, "loss": None, "grad_norms": {}, "frames": 3}


def test_run_on_a_task_sample_equals_rest_on_the_same_sample(client) -> None:
    sample = client.get("/api/v1/tasks/sine/sample?seed=4&length=5").json()
    response = client.post("/api/v1/models", json={"config": sample["config"]})
    model_id = response.json()["id"]
    rest = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": sample["inputs"], "targets": sample["targets"]},
    ).json()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json(
            {"type": "run", "sample": {"task": "sine", "seed": 4, "params": {"length": 5}}}
        )
        frames = receive_until(ws, "summary")
    assert len(frames) == 1 + 5 + 5 + 1
    assert frames[-1]["loss"] == rest["loss"]


def test_manual_run_sends_one_frame_per_step_then_resume_plays_on(client, make_model) -> None:
    model_id = make_model()
    inputs = [[0.0, 0.1]] * 4
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": inputs, "manual": True})
        assert ws.receive_json()["type"] == "start"
        for t in range(2):
            ws.send_json({"type": "step"})
            assert ws.receive_json()["t"] == t
        ws.send_json({"type": "resume", "rate": 200})
        rest = receive_until(ws, "summary")
    assert [f.get("t") for f in rest] == [2, 3, None]


def test_pause_holds_a_playing_run_until_step(client, make_model) -> None:
    model_id = make_model()
    stats = client.app.state.stream_stats
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 0.1]] * 50, "rate": 20})
        assert ws.receive_json()["type"] == "start"
        ws.send_json({"type": "pause"})
        ws.send_json({"type": "step"})
        made = stats.frames_made
        # 10 frames' time at 20 fps: a run that did not pause would make them.
        stays(lambda: stats.frames_made <= made + 3, 0.5, "the paused run played on")
        ws.send_json({"type": "stop"})
        frames = receive_until(ws, "end")
    # a frame or two before the pause took effect, then the one step
    ts = [f["t"] for f in frames[:-1]]
    assert ts == list(range(len(ts))) and 1 <= len(ts) <= 3


def test_rate_above_max_fps_is_an_error_frame_naming_the_bound(tmp_path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_fps=30))) as client:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
            ws.send_json({"type": "run", "inputs": [[0.0]], "rate": 31})
            error = ws.receive_json()
            assert error["type"] == "error" and error["field"] == "rate"
            assert "RNN_EXPLORER_MAX_FPS" in error["detail"]
            ws.send_json({"type": "run", "inputs": [[0.0]], "rate": 30})
            assert receive_until(ws, "summary")[-1]["frames"] == 1


@pytest.mark.parametrize(
    ("message", "field", "text"),
    [
        ("not json", "message", "not valid JSON"),
        ('{"type": "dance"}', "message", "does not match any of the expected tags"),
        ('{"type": "run", "inputs": [[NaN, 0]]}', "inputs[0][0]", "not a finite number"),
        ('{"type": "run", "inputs": [[0, 0]], "rate": -1}', "run.rate", "greater than"),
        ('{"type": "run", "inputs": [[0, 0], [1]]}', "inputs[1]", "ragged"),
        ('{"type": "run"}', "inputs", "a run needs inputs"),
        ('{"type": "run", "inputs": [[0, 0]], "targets": [[1]]}', "targets", "expected (1, 3)"),
        ('{"type": "follow", "session": "nope"}', None, "no training session"),
        ('{"type": "run", "sample": {"task": "nope"}}', None, "no task named 'nope'"),
    ],
)
def test_bad_commands_get_an_error_frame_and_the_socket_stays_open(
    client, make_model, message, field, text
) -> None:
    model_id = make_model()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_text(message)
        error = ws.receive_json()
        assert error["type"] == "error", error
        assert error["field"] == field
        assert text in error["detail"]
        ws.send_json({"type": "run", "inputs": [[0.0, 0.0]]})
        assert receive_until(ws, "summary")[-1]["type"] == "summary"


def first_answer_to_run(tmp_path, settings: dict, inputs: list) -> dict:
    """The first message a fresh server with `settings` streams back to a run of `inputs` on a
    1-2-1 model."""
    with TestClient(create_app(Settings(data_dir=tmp_path, **settings))) as client:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
            ws.send_json({"type": "run", "inputs": inputs})
            return ws.receive_json()


def test_limits_apply_to_stream_runs(tmp_path) -> None:
    error = first_answer_to_run(tmp_path, {"max_steps": 3}, [[0.0]] * 4)
    assert error["type"] == "error" and error["field"] == "inputs"
    assert "RNN_EXPLORER_MAX_STEPS" in error["detail"]


def test_unknown_model_closes_the_stream_with_4404(client) -> None:
    with client.websocket_connect("/api/v1/models/nosuchmodel/stream") as ws:
        error = ws.receive_json()
        assert error["type"] == "error" and "nosuchmodel" in error["detail"]
        message = ws.receive()
    assert message == {"type": "websocket.close", "code": 4404, "reason": ""}


def test_streams_above_max_streams_are_refused_with_1013(tmp_path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, max_streams=1))) as client:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        url = f"/api/v1/models/{model_id}/stream"
        with client.websocket_connect(url) as first:
            first.send_json({"type": "run", "inputs": [[0.0]]})
            receive_until(first, "summary")
            with client.websocket_connect(url) as second:
                error = second.receive_json()
                assert error["field"] == "stream"
                assert second.receive()["code"] == 1013


def test_stop_cancels_a_run_and_answers_end(client, make_model) -> None:
    model_id = make_model()
    stats = client.app.state.stream_stats
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 0.0]] * 100, "rate": 10})
        assert ws.receive_json()["type"] == "start"
        ws.send_json({"type": "stop"})
        frames = receive_until(ws, "end")
        assert frames[-1] == {"type": "end", "v": 1, "status": "stopped"}
        assert len(frames) <= 6  # of 101 frames at 10 fps
        assert stats.jobs == 0


def test_disconnect_cancels_the_run_at_once(client, make_model) -> None:
    model_id = make_model()
    stats = client.app.state.stream_stats
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 0.0]] * 1000, "rate": 50})
        ws.receive_json()
        ws.receive_json()
        assert stats.jobs == 1
    wait_until(lambda: not (stats.jobs or stats.open), 2.0, "the run outlived its socket")
    made = stats.frames_made
    stays(lambda: stats.frames_made == made, 0.3, "frames were made for a closed socket")
    assert made < 100  # of 2001 frames at 50 fps (40 s)


def test_stream_messages_are_in_the_openapi_components(client) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("StreamCommand", "StreamFrame", "RunCommand", "TrainCommand", "SessionFrame"):
        assert name in schemas
    commands = json.dumps(schemas["StreamCommand"])
    for kind in ("RunCommand", "StepCommand", "PauseCommand", "ResumeCommand", "FollowCommand"):
        assert kind in commands
    assert document["x-websocket"]["/api/v1/models/{model_id}/stream"]["protocol_version"] == 1


def test_a_command_above_max_request_bytes_is_refused(tmp_path) -> None:
    error = first_answer_to_run(tmp_path, {"max_request_bytes": 2048}, [[0.123456789]] * 300)
    assert error["type"] == "error" and error["field"] == "message"
    assert "RNN_EXPLORER_MAX_REQUEST_BYTES" in error["detail"]


def test_a_batched_run_streams_sequence_0_with_norms_over_the_batch(client, make_model) -> None:
    model_id = make_model(cell="gru")
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(3, 4, 2)).tolist()
    targets = rng.normal(size=(3, 4, 3)).tolist()
    rest = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": inputs, "targets": targets}
    ).json()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": inputs, "targets": targets})
        start, *steps, summary = receive_until(ws, "summary")
    assert start["batch"] == 3
    layer = rest["trace"]["layers"][0]
    for frame in steps[:4]:
        assert frame["output"] == rest["outputs"][0][frame["t"]]
    for frame in steps[4:]:
        t = frame["t"]
        assert frame["dH"][0] == layer["dH"][0][t]
        assert frame["dH_norm"][0] == layer["dH_norm"][t]
        assert set(frame["step_grad_norms"][0]) == {"W_xh", "W_hh", "b_h", "b_hn"}
    assert summary["loss"] == rest["loss"]
