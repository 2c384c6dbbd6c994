import json

import numpy as np
import pytest
from safetensors.numpy import load as load_safetensors

from app.rnn import ModelConfig, Network
from app.rnn import weights as weights_io


def test_create_model_returns_201_with_pytorch_shapes(client) -> None:
    config = {"cell": "lstm", "input_size": 3, "hidden_size": 5, "output_size": 2, "num_layers": 2}
    response = client.post("/api/v1/models", json={"config": config, "name": "two layers"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "two layers"
    assert body["config"]["cell"] == "lstm"
    assert body["config"]["init"] == "pytorch"
    assert body["shapes"]["rnn.weight_ih_l0"] == [20, 3]
    assert body["shapes"]["rnn.weight_ih_l1"] == [20, 5]
    assert body["shapes"]["head.weight"] == [2, 5]
    expected = 20 * 3 + 20 * 5 + 40 + 20 * 5 + 20 * 5 + 40 + 2 * 5 + 2
    assert body["parameter_count"] == expected


def test_list_get_and_delete_models(client, make_model) -> None:
    first, second = make_model(), make_model(cell="gru")
    listed = client.get("/api/v1/models").json()
    assert [m["id"] for m in listed] == [first, second]
    assert client.get(f"/api/v1/models/{second}").json()["config"]["cell"] == "gru"
    assert client.delete(f"/api/v1/models/{first}").status_code == 204
    assert client.get(f"/api/v1/models/{first}").status_code == 404
    assert [m["id"] for m in client.get("/api/v1/models").json()] == [second]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("delete", ""),
        ("get", "/weights"),
        ("post", "/forward"),
        ("post", "/backward"),
    ],
)
def test_unknown_model_id_is_404_naming_the_id(client, method, path) -> None:
    body = {"inputs": [[0.0, 0.0]]}
    if path == "/backward":
        body["targets"] = [[0.0, 0.0, 0.0]]
    kwargs = {"json": body} if method == "post" else {}
    response = getattr(client, method)(f"/api/v1/models/nosuchmodel{path}", **kwargs)
    assert response.status_code == 404
    assert "nosuchmodel" in response.json()["detail"]


def test_create_rejects_invalid_configs_with_422(client) -> None:
    cases = [
        ({"input_size": 0, "hidden_size": 4, "output_size": 1}, "input_size"),
        ({"input_size": 1, "hidden_size": 4, "output_size": 1, "cell": "tcn"}, "cell"),
        ({"input_size": 1, "hidden_size": 4, "output_size": 1, "colour": 1}, "colour"),
        ({"hidden_size": 4, "output_size": 1}, "input_size"),
    ]
    for config, field in cases:
        response = client.post("/api/v1/models", json={"config": config})
        assert response.status_code == 422, config
        assert field in json.dumps(response.json()["detail"])


def test_create_rejects_inconsistent_config_with_the_engine_message(client) -> None:
    config = {"input_size": 1, "hidden_size": 4, "output_size": 2, "loss": "cross_entropy"}
    response = client.post("/api/v1/models", json={"config": config})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "config"]
    assert problem["msg"].endswith("loss 'cross_entropy' needs head 'softmax', got head 'identity'")


@pytest.mark.parametrize(
    ("field", "value", "setting"),
    [
        ("hidden_size", 513, "max_hidden_size"),
        ("input_size", 257, "max_input_size"),
        ("output_size", 257, "max_output_size"),
        ("num_layers", 5, "max_layers"),
    ],
)
def test_create_enforces_size_limits_naming_field_and_bound(client, field, value, setting) -> None:
    config = {"input_size": 1, "hidden_size": 4, "output_size": 1, field: value}
    response = client.post("/api/v1/models", json={"config": config})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == f"config.{field}"
    assert body["limit"] == {"setting": setting, "value": value - 1}
    assert f"RNN_EXPLORER_{setting.upper()}" in body["detail"]


def test_forward_of_one_sequence_matches_the_engine(client, make_model) -> None:
    model_id = make_model(seed=3)
    inputs = [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]
    response = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs})
    assert response.status_code == 200
    body = response.json()
    network = Network(ModelConfig(input_size=2, hidden_size=4, output_size=3, seed=3))
    trace = network.forward(np.array([inputs]))
    np.testing.assert_allclose(body["outputs"], trace.Y[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(body["logits"], trace.O[0], rtol=0, atol=1e-15)
    layer = body["trace"]["layers"][0]
    np.testing.assert_allclose(layer["H"], trace.hidden(0)[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer["A"], trace.preactivation(0)[0], rtol=0, atol=1e-15)
    assert layer["gates"] == {}
    np.testing.assert_allclose(body["trace"]["final_state"]["h"], [trace.hidden(0)[0, -1]])
    assert body["trace"]["final_state"]["c"] is None
    radius = np.max(np.abs(np.linalg.eigvals(network.params["layer0.W_hh"])))
    assert body["trace"]["spectral_radius"] == [{"W_hh": pytest.approx(radius)}]


def test_forward_of_a_batch_keeps_the_batch_axis_and_lstm_gates(client, make_model) -> None:
    model_id = make_model(cell="lstm", num_layers=2)
    inputs = np.linspace(-1, 1, 2 * 5 * 2).reshape(2, 5, 2).tolist()
    body = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs}).json()
    assert np.shape(body["outputs"]) == (2, 5, 3)
    assert len(body["trace"]["layers"]) == 2
    layer = body["trace"]["layers"][1]
    assert np.shape(layer["H"]) == (2, 5, 4)
    assert np.shape(layer["A"]) == (2, 5, 16)
    assert sorted(layer["gates"]) == ["C", "f", "g", "i", "o"]
    assert np.shape(body["trace"]["final_state"]["c"]) == (2, 2, 4)
    assert sorted(body["trace"]["spectral_radius"][0]) == ["f", "g", "i", "o"]


def test_forward_uses_h0_and_c0(client, make_model) -> None:
    model_id = make_model(cell="lstm")
    inputs = [[0.0, 0.0]]
    h0 = [[0.5, -0.5, 0.25, 0.0]]
    c0 = [[1.0, 1.0, -1.0, 0.0]]
    zero = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs}).json()
    body = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": inputs, "h0": h0, "c0": c0}
    ).json()
    assert body["outputs"] != zero["outputs"]
    record = client.get(f"/api/v1/models/{model_id}/weights").content
    config, params = weights_io.load(record)
    trace = Network(config, params).forward(
        np.zeros((1, 1, 2)), np.array(h0)[:, None], np.array(c0)[:, None]
    )
    np.testing.assert_allclose(body["outputs"], trace.Y[0], atol=1e-15)


def test_backward_returns_pytorch_named_grads_and_trace(client, make_model) -> None:
    model_id = make_model(cell="gru", output_mode="last")
    inputs = [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5], [0.2, 0.2]]
    targets = [1.0, 0.0, -1.0]
    body = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": inputs, "targets": targets}
    ).json()
    config, params = weights_io.load(client.get(f"/api/v1/models/{model_id}/weights").content)
    network = Network(config, params)
    trace = network.forward(np.array([inputs]))
    result = network.backward(trace, np.array([targets]))
    assert body["loss"] == pytest.approx(result.loss, abs=1e-15)
    expected = weights_io.grads_to_pytorch(config, result.grads)
    assert sorted(body["grads"]) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(body["grads"][name], value, atol=1e-15, err_msg=name)
        assert body["grad_norms"][name] == pytest.approx(np.linalg.norm(value))
    layer = body["trace"]["layers"][0]
    np.testing.assert_allclose(layer["dH"], result.dH(0)[0], atol=1e-15)
    np.testing.assert_allclose(layer["dH_norm"], result.grad_norm_per_step[0], atol=1e-15)
    assert sorted(layer["step_grad_norms"]) == ["W_hh", "W_xh", "b_h", "b_hn"]
    assert len(layer["step_grad_norms"]["W_hh"]) == 4
    assert layer["step_grads"] is None
    assert len(layer["jacobian_norms"]) == 4 and layer["jacobian_norms"][-1] == pytest.approx(1.0)
    assert np.shape(body["trace"]["dO"]) == (3,)
    assert len(body["trace"]["head"]["step_grad_norms"]["W_hq"]) == 1


def test_backward_step_grads_full_sum_to_the_gradient(client, make_model) -> None:
    model_id = make_model()
    inputs = [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]
    targets = [[1.0, 0.0, 0.5]] * 3
    body = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": inputs, "targets": targets, "step_grads": "full", "jacobian": False},
    ).json()
    layer = body["trace"]["layers"][0]
    assert layer["jacobian_norms"] is None
    per_step = np.array(layer["step_grads"]["W_hh"])
    assert per_step.shape == (3, 4, 4)
    np.testing.assert_allclose(
        per_step.sum(axis=0).T, body["grads"]["rnn.weight_hh_l0"], atol=1e-14
    )


def test_backward_accepts_class_indices_for_cross_entropy(client, make_model) -> None:
    model_id = make_model(head="softmax", loss="cross_entropy")
    inputs = [[[0.1, 0.2], [0.3, -0.1]], [[0.0, 0.5], [0.2, 0.2]]]
    response = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": inputs, "targets": [[0, 2], [1, 1]]}
    )
    assert response.status_code == 200
    body = response.json()
    probabilities = np.array(body["outputs"])
    assert probabilities.shape == (2, 2, 3)
    expected = -np.mean(
        np.log(
            [
                probabilities[0, 0, 0],
                probabilities[0, 1, 2],
                probabilities[1, 0, 1],
                probabilities[1, 1, 1],
            ]
        )
    )
    assert body["loss"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('{"inputs": [[0.1, NaN]]}', "inputs[0][1]"),
        ('{"inputs": [[0.1, 0.2], [Infinity, 0]]}', "inputs[1][0]"),
        ('{"inputs": [[0.1, -Infinity]]}', "inputs[0][1]"),
        ('{"inputs": [[0.1, 1e999]]}', "inputs[0][1]"),
        ('{"inputs": [[0.1, 0.2]], "h0": [[NaN, 0, 0, 0]]}', "h0[0][0]"),
    ],
)
def test_non_finite_json_numbers_are_422_naming_the_element(client, make_model, raw, where) -> None:
    model_id = make_model()
    response = client.post(
        f"/api/v1/models/{model_id}/forward",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": f"{where} is not a finite number", "field": where}


@pytest.mark.parametrize(
    ("inputs", "field", "message"),
    [
        ([[0.1, 0.2], [0.3]], "inputs[1]", "inputs[1] has 1 elements, expected 2"),
        ([[[0.1, 0.2]], [[0.1, 0.2], [0.3, 0.4]]], "inputs[1]", "has 2 elements, expected 1"),
        ([[0.1, 0.2], [0.3, [0.4]]], "inputs[1][1]", "is a list, expected a number"),
        ([[0.1, "x"]], "inputs[0][1]", "is str 'x', expected a number"),
        ([[0.1, None]], "inputs[0][1]", "expected a number"),
        ([0.1, 0.2], "inputs", "1 dimension(s)"),
        ([[0.1, 0.2, 0.3]], "inputs", "the model expects 2"),
        ([], "inputs", "1 dimension(s)"),
    ],
)
def test_bad_arrays_are_422_with_the_path(client, make_model, inputs, field, message) -> None:
    model_id = make_model()
    response = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": inputs})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field
    assert message in body["detail"]


def test_wrong_target_and_state_shapes_are_422(client, make_model) -> None:
    model_id = make_model()
    inputs = [[0.1, 0.2], [0.3, 0.4]]
    cases = [
        ({"inputs": inputs, "targets": [[1.0, 2.0]]}, "targets", "expected (2, 3)"),
        ({"inputs": inputs, "targets": [[1.0, 2.0, 3.0]] * 2, "h0": [[0.0] * 5]}, "h0", "(1, 4)"),
        ({"inputs": inputs, "targets": [[1.0, 2.0, 3.0]] * 2, "c0": [[0.0] * 4]}, "c0", "lstm"),
    ]
    for body, field, message in cases:
        response = client.post(f"/api/v1/models/{model_id}/backward", json=body)
        assert response.status_code == 422, body
        assert response.json()["field"] == field
        assert message in response.json()["detail"]
    missing = client.post(f"/api/v1/models/{model_id}/backward", json={"inputs": inputs})
    assert missing.status_code == 422
    assert "targets" in json.dumps(missing.json()["detail"])


def test_class_index_out_of_range_is_422(client, make_model) -> None:
    model_id = make_model(head="softmax", loss="cross_entropy")
    response = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": [[0.0, 0.0]], "targets": [3]}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "class-index targets must lie in [0, 2], found 3"


def test_data_limits_are_checked_before_computing(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path, max_steps=10, max_batch=2, max_elements=100)
    with TestClient(create_app(settings)) as client:
        config = {"input_size": 1, "hidden_size": 8, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        url = f"/api/v1/models/{model_id}/forward"
        too_long = client.post(url, json={"inputs": [[0.0]] * 11}).json()
        assert too_long["limit"] == {"setting": "max_steps", "value": 10}
        assert too_long["field"] == "inputs"
        too_wide = client.post(url, json={"inputs": [[[0.0]]] * 3}).json()
        assert too_wide["limit"] == {"setting": "max_batch", "value": 2}
        too_big = client.post(url, json={"inputs": [[[0.0]] * 10] * 2})
        assert too_big.status_code == 422
        assert too_big.json()["limit"]["setting"] == "max_elements"


def test_jacobian_and_step_grads_limits(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        max_jacobian_elements=100,
        jacobian_auto_elements=10,
        max_step_grads_elements=100,
    )
    with TestClient(create_app(settings)) as client:
        config = {"input_size": 1, "hidden_size": 8, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        url = f"/api/v1/models/{model_id}/backward"
        body = {"inputs": [[0.0]] * 3, "targets": [[0.0]] * 3}
        auto = client.post(url, json=body).json()
        assert auto["trace"]["layers"][0]["jacobian_norms"] is None
        forced = client.post(url, json={**body, "jacobian": True})
        assert forced.status_code == 422
        assert forced.json()["limit"]["setting"] == "max_jacobian_elements"
        full = client.post(url, json={**body, "step_grads": "full"})
        assert full.json()["field"] == "step_grads"


def test_request_body_above_the_byte_limit_is_413(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, max_request_bytes=2048))) as client:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        response = client.post(
            f"/api/v1/models/{model_id}/forward", json={"inputs": [[0.123456789]] * 200}
        )
        assert response.status_code == 413
        assert response.json()["limit"] == {"setting": "max_request_bytes", "value": 2048}


def test_malformed_json_is_422(client, make_model) -> None:
    model_id = make_model()
    response = client.post(
        f"/api/v1/models/{model_id}/forward",
        content=b'{"inputs": [[0.1, ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_weights_download_is_safetensors_with_config_metadata(client, make_model) -> None:
    model_id = make_model(cell="gru", num_layers=2)
    response = client.get(f"/api/v1/models/{model_id}/weights")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    tensors = load_safetensors(response.content)
    assert tensors["rnn.weight_hh_l1"].shape == (12, 4)
    assert tensors["rnn.weight_hh_l1"].dtype == np.float64
    config, _ = weights_io.load(response.content)
    assert config.num_layers == 2 and config.cell == "gru"


def test_models_limit_is_409(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path, max_models=1))) as client:
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        assert client.post("/api/v1/models", json={"config": config}).status_code == 201
        response = client.post("/api/v1/models", json={"config": config})
        assert response.status_code == 409
        assert response.json()["limit"]["setting"] == "max_models"
