"""Importing Keras 3 models over the REST API: real Keras models (PyTorch backend, float64),
saved as .keras and as .weights.h5, imported and run; the server's outputs against Keras' own.
The server reads the files with h5py only; Keras is a test dependency."""

import io
import json
import os
import zipfile
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

import h5py
import keras
import numpy as np
import pytest
import torch
from keras.src.backend.common import dtypes as keras_dtypes
from safetensors.torch import load as load_torch_safetensors

from tests.web.routes.test_training import wait_for

keras.config.set_floatx("float64")
# Keras' type promotion follows JAX's and demotes float64 to float32 on every backend but
# TensorFlow's (dtypes.BIT64_TO_BIT32_DTYPE), so ops.matmul, hence its SimpleRNN and Dense,
# computes in float32 even with floatx float64 (≈1e-7 off). Undone here, so that Keras computes
# the reference in float64 throughout and the comparison can be at 1e-12.
keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

D, H, Q, T, B = 3, 4, 2, 6, 3
layers = keras.layers


def randomised(model: keras.Model, seed: int) -> keras.Model:
    """Every variable drawn afresh (Keras initialises biases to zero, which would hide them)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    return model


def build(*stack: keras.layers.Layer, seed: int = 0) -> keras.Model:
    return randomised(keras.Sequential([keras.Input((T, D)), *stack]), seed)


# name → (layers, what a bare .weights.h5 cannot say: its config fields)
MODELS = {
    "simple_rnn_tanh_headless_last": (
        lambda: [layers.SimpleRNN(H)],
        {"output_mode": "last"},
    ),
    "simple_rnn_relu_sequence_dense": (
        lambda: [layers.SimpleRNN(H, activation="relu", return_sequences=True), layers.Dense(Q)],
        {"nonlinearity": "relu"},
    ),
    "lstm_sequence_softmax": (
        lambda: [layers.LSTM(H, return_sequences=True), layers.Dense(Q, activation="softmax")],
        {"head": "softmax"},
    ),
    "gru_last_sigmoid": (
        lambda: [layers.GRU(H), layers.Dense(Q, activation="sigmoid")],
        {"output_mode": "last", "head": "sigmoid"},
    ),
    "lstm_stacked_last_dense": (
        lambda: [layers.LSTM(H, return_sequences=True), layers.LSTM(H), layers.Dense(Q)],
        {"output_mode": "last"},
    ),
    "gru_stacked_sequence_headless": (
        lambda: [layers.GRU(H, return_sequences=True), layers.GRU(H, return_sequences=True)],
        {},
    ),
    "simple_rnn_stacked_no_bias": (
        lambda: [
            layers.SimpleRNN(H, use_bias=False, return_sequences=True),
            layers.SimpleRNN(H, use_bias=False, return_sequences=True),
            layers.Dense(Q, use_bias=False),
        ],
        {},
    ),
    "lstm_no_bias_headless": (lambda: [layers.LSTM(H, use_bias=False)], {"output_mode": "last"}),
    "gru_no_bias_sequence_dense": (
        lambda: [layers.GRU(H, use_bias=False, return_sequences=True), layers.Dense(Q)],
        {},
    ),
}


def upload(client, path: Path, config: dict | None = None, **form: str):
    data = {**form, **({"config": json.dumps(config)} if config is not None else {})}
    files = {"weights": (path.name, path.read_bytes())}
    return client.post("/api/v1/models/import", files=files, data=data)


def outputs(client, model_id: str, X: np.ndarray) -> np.ndarray:
    response = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": X.tolist()})
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["outputs"])


@pytest.mark.parametrize("saved_as", ["keras", "weights.h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_keras_model_imports_and_computes_what_keras_computes(
    client, tmp_path, name, saved_as
) -> None:
    stack, unsaid = MODELS[name]
    model = build(*stack(), seed=len(name))
    path = tmp_path / f"model.{saved_as}"
    if saved_as == "keras":
        model.save(path)
        response = upload(client, path)
    else:
        model.save_weights(path)
        response = upload(client, path, unsaid)
    assert response.status_code == 201, response.text
    config = response.json()["config"]
    X = np.random.default_rng(1).normal(size=(B, T, D))
    expected = keras.ops.convert_to_numpy(model(X))
    assert keras.ops.matmul(X[0], X[0].T).dtype == torch.float64  # the undoing above holds
    got = outputs(client, response.json()["id"], X)
    assert got.size == expected.size
    # float64 throughout; the only differences are the order of the sums (≤ 1e-12 here)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=0, atol=1e-12)
    recurrent = [layer for layer in model.layers if not isinstance(layer, layers.Dense)]
    assert config["num_layers"] == len(recurrent)
    assert config["linear_head"] == isinstance(model.layers[-1], layers.Dense)
    assert config["head_bias"] == (not config["linear_head"] or model.layers[-1].use_bias)
    assert ("head.bias" in response.json()["shapes"]) == (
        config["linear_head"] and model.layers[-1].use_bias
    )
    assert config["bias"] == ("none" if "no_bias" in name else "two" if "gru" in name else "one")
    assert config["output_mode"] == ("sequence" if recurrent[-1].return_sequences else "last")
    assert config["dtype"] == "float64"


def test_an_imported_keras_gru_exports_a_state_dict_torch_loads_and_computes_the_same(
    client, tmp_path
) -> None:
    model = build(layers.GRU(H, return_sequences=True), layers.Dense(Q), seed=4)
    model.save(tmp_path / "gru.keras")
    info = upload(client, tmp_path / "gru.keras").json()
    exported = load_torch_safetensors(client.get(f"/api/v1/models/{info['id']}/weights").content)
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    head = torch.nn.Linear(H, Q).double()
    gru.load_state_dict({k[4:]: v for k, v in exported.items() if k.startswith("rnn.")})
    head.load_state_dict({k[5:]: v for k, v in exported.items() if k.startswith("head.")})
    X = np.random.default_rng(2).normal(size=(B, T, D))
    with torch.no_grad():
        ours = head(gru(torch.from_numpy(X))[0]).numpy()
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(model(X)), rtol=0, atol=1e-12)


class KerasAsTorch(torch.nn.Module):
    """Keras' LSTM + Dense(use_bias=False) as torch modules: `rnn` and a bias-free `head`."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.LSTM(D, H, batch_first=True).double()
        self.head = torch.nn.Linear(H, Q, bias=False).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


@pytest.mark.parametrize("saved_as", ["keras", "weights.h5"])
def test_a_dense_without_bias_round_trips_with_no_b_q_and_trains_as_torch(
    client, tmp_path, saved_as
) -> None:
    model = build(layers.LSTM(H, return_sequences=True), layers.Dense(Q, use_bias=False), seed=7)
    path = tmp_path / f"model.{saved_as}"
    model.save(path) if saved_as == "keras" else model.save_weights(path)
    # bias "two": b_ih and b_hh trained apart, as torch trains them (Keras' sum is "one")
    response = upload(client, path, {"bias": "two"})
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["linear_head"] and info["config"]["head_bias"] is False
    assert sorted(info["shapes"]) == sorted(KerasAsTorch().state_dict())
    url = f"/api/v1/models/{info['id']}"

    # The export loads strictly into torch's modules and computes what Keras computes.
    module = KerasAsTorch()
    module.load_state_dict(load_torch_safetensors(client.get(f"{url}/weights").content))
    kernel = model.layers[-1].get_weights()[0]
    assert np.array_equal(module.head.weight.detach().numpy(), kernel.T)  # bit for bit
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    expected = keras.ops.convert_to_numpy(model(X))
    np.testing.assert_allclose(outputs(client, info["id"], X), expected, rtol=0, atol=1e-12)

    # Backward over the API against autograd: every tensor's gradient, none for a bias b_q.
    backward = client.post(f"{url}/backward", json={"inputs": X.tolist(), "targets": Y.tolist()})
    assert backward.status_code == 200, backward.text
    loss = torch.nn.functional.mse_loss(module(torch.from_numpy(X)), torch.from_numpy(Y))
    loss.backward()
    grads = backward.json()["grads"]
    assert sorted(grads) == sorted(name for name, _ in module.named_parameters())
    for name, parameter in module.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad, rtol=0, atol=1e-9, err_msg=name)

    # Three SGD steps over POST /train against torch.optim.SGD, the export strictly loaded.
    body = {
        "data": {"inputs": X.tolist(), "targets": Y.tolist()},
        "optimizer": "sgd",
        "lr": 0.1,
        "steps": 3,
        "batch_size": B,
        "validation_fraction": 0.0,
    }
    session = client.post(f"{url}/train", json=body)
    assert session.status_code == 202, session.text
    assert wait_for(client, session.json()["id"], ("finished",))["step"] == 3
    optimiser = torch.optim.SGD(module.parameters(), lr=0.1)
    for _ in range(3):
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(module(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        optimiser.step()
    trained = KerasAsTorch()
    trained.load_state_dict(load_torch_safetensors(client.get(f"{url}/weights").content))
    for name, tensor in module.state_dict().items():
        np.testing.assert_allclose(
            trained.state_dict()[name], tensor, rtol=0, atol=1e-9, err_msg=name
        )


def test_a_keras_file_with_config_fields_takes_them_over_its_own(client, tmp_path) -> None:
    build(layers.LSTM(H), layers.Dense(Q)).save(tmp_path / "m.keras")
    response = upload(client, tmp_path / "m.keras", {"loss": "mse", "seed": 7}, name="tutorial")
    assert response.status_code == 201, response.text
    assert response.json()["config"]["seed"] == 7 and response.json()["name"] == "tutorial"
    wrong = upload(client, tmp_path / "m.keras", {"cell": "gru"})
    assert wrong.status_code == 422 and "rnn.weight_ih_l0" in wrong.json()["detail"]
    unknown = upload(client, tmp_path / "m.keras", {"colour": "red"})
    assert unknown.status_code == 422 and "config.colour" in unknown.json()["detail"]
    prefixed = upload(client, tmp_path / "m.keras", None, head_prefix="dense")
    assert prefixed.status_code == 422 and prefixed.json()["field"] == "head_prefix"


REFUSED = {
    "gru_reset_before": (lambda: [layers.GRU(H, reset_after=False)], "reset_after=False"),
    "lstm_relu": (lambda: [layers.LSTM(H, activation="relu")], "'relu'"),
    "gru_hard_sigmoid": (lambda: [layers.GRU(H, recurrent_activation="hard_sigmoid")], "hard_"),
    "simple_rnn_elu": (lambda: [layers.SimpleRNN(H, activation="elu")], "'elu'"),
    "dense_relu": (lambda: [layers.SimpleRNN(H), layers.Dense(Q, activation="relu")], "'relu'"),
    "backwards": (lambda: [layers.LSTM(H, go_backwards=True)], "go_backwards"),
    "bidirectional": (lambda: [layers.Bidirectional(layers.LSTM(H))], "layer bidirectional"),
    "dropout": (lambda: [layers.LSTM(H), layers.Dropout(0.1)], "layer dropout (Dropout)"),
    "two_denses": (lambda: [layers.GRU(H), layers.Dense(H), layers.Dense(Q)], "only one Dense"),
    "mixed_cells": (
        lambda: [layers.LSTM(H, return_sequences=True), layers.GRU(H)],
        "must be a LSTM",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_layer_the_engine_cannot_compute_exactly_is_refused_naming_it(
    client, tmp_path, name
) -> None:
    stack, said = REFUSED[name]
    model = build(*stack())
    model.save(tmp_path / "m.keras")
    response = upload(client, tmp_path / "m.keras")
    assert response.status_code == 422, response.text
    assert said in response.json()["detail"]


def test_a_bare_reset_after_false_gru_is_refused_by_its_bias_shape(client, tmp_path) -> None:
    build(layers.GRU(H, reset_after=False)).save_weights(tmp_path / "m.weights.h5")
    response = upload(client, tmp_path / "m.weights.h5")
    assert response.status_code == 422 and "reset_after=False" in response.json()["detail"]


def h5_bytes(fill) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        fill(file)
    return buffer.getvalue()


def post_bytes(client, data: bytes):
    return client.post("/api/v1/models/import", files={"weights": ("m.weights.h5", data)})


def test_hostile_h5_files_are_refused_before_their_values_are_read(client, tmp_path) -> None:
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as file:
        file["secret"] = np.ones((H, H))

    def linked(file: h5py.File) -> None:
        file["layers/simple_rnn/cell/vars/0"] = np.ones((D, H))
        file["layers/simple_rnn/cell/vars/1"] = h5py.ExternalLink(str(outside), "secret")

    def external(file: h5py.File) -> None:
        (tmp_path / "raw.bin").write_bytes(np.ones(H * H).tobytes())
        file.create_dataset(
            "layers/simple_rnn/cell/vars/1",
            shape=(H, H),
            dtype="float64",
            external=[(str(tmp_path / "raw.bin"), 0, 8 * H * H)],
        )

    def huge(file: h5py.File) -> None:  # compressed: a small file declaring 4·10⁸ numbers
        file.create_dataset(
            "layers/lstm/cell/vars/0", shape=(20000, 20000), dtype="float64", chunks=True,
            compression="gzip",
        )  # fmt: skip

    def many(file: h5py.File) -> None:
        for i in range(130):
            file[f"layers/dense_{i}/vars/0"] = np.ones(2)

    def strings(file: h5py.File) -> None:
        file["layers/simple_rnn/cell/vars/0"] = np.array([b"x"] * 3)

    cases = {
        linked: "is a link",
        external: "outside the file",
        huge: "400000000 numbers, above the limit",
        many: "more than 128 datasets",
        strings: "expected floats",
    }
    for fill, said in cases.items():
        response = post_bytes(client, h5_bytes(fill))
        assert response.status_code == 422, (fill.__name__, response.text)
        assert said in response.json()["detail"], fill.__name__


def test_a_zip_that_is_not_a_keras_file_is_refused(client) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    response = post_bytes(client, buffer.getvalue())
    assert response.status_code == 422 and "no config.json" in response.json()["detail"]

    broken = b"\x89HDF\r\n\x1a\n" + b"\0" * 100
    response = post_bytes(client, broken)
    assert response.status_code == 422 and "not a valid Keras weights file" in response.text


def test_a_keras_zip_whose_members_unpack_beyond_the_bound_is_refused(client, tmp_path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * (4 * 2**20))  # 4 MiB of spaces, a few KiB packed
        archive.writestr("model.weights.h5", b"")
    response = post_bytes(client, buffer.getvalue())
    assert response.status_code == 422 and "config.json" in response.json()["detail"]


def test_a_functional_model_with_named_layers_imports_as_keras_computes(client, tmp_path) -> None:
    inputs = keras.Input((T, D))
    hidden = layers.GRU(H, return_sequences=True, name="encoder")(inputs)
    hidden = layers.GRU(H, return_sequences=True, name="decoder")(hidden)
    model = randomised(keras.Model(inputs, layers.Dense(Q, name="readout")(hidden)), 11)
    model.save(tmp_path / "f.keras")
    response = upload(client, tmp_path / "f.keras")
    assert response.status_code == 201, response.text
    X = np.random.default_rng(3).normal(size=(B, T, D))
    expected = keras.ops.convert_to_numpy(model(X))
    got = outputs(client, response.json()["id"], X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)

    branch = keras.Input((T, D))
    two = layers.Add()([layers.GRU(H, return_sequences=True)(branch), branch[..., :1] * 0])
    keras.Model(branch, two).save(tmp_path / "branch.keras")
    refused = upload(client, tmp_path / "branch.keras")
    assert refused.status_code == 422 and "layer " in refused.json()["detail"], refused.text


def test_a_model_trained_in_keras_imports_with_its_optimizer_state_left_aside(
    client, tmp_path
) -> None:
    model = build(layers.LSTM(H), layers.Dense(Q))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(6)
    model.fit(rng.normal(size=(8, T, D)), rng.normal(size=(8, Q)), epochs=2, verbose=0)
    model.save(tmp_path / "trained.keras")
    response = upload(client, tmp_path / "trained.keras")
    assert response.status_code == 201, response.text
    X = rng.normal(size=(B, T, D))
    expected = keras.ops.convert_to_numpy(model(X))
    got = outputs(client, response.json()["id"], X)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=0, atol=1e-12)


def test_the_servers_bounds_hold_for_keras_files(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    build(layers.SimpleRNN(H)).save(tmp_path / "m.keras")
    keras.Sequential(
        [keras.Input((T, D)), *(layers.GRU(H, return_sequences=True) for _ in range(3))]
    ).save(tmp_path / "deep.keras")
    settings = Settings(data_dir=tmp_path / "data", max_upload_bytes=1024, max_layers=2)
    with TestClient(create_app(settings)) as small:
        response = upload(small, tmp_path / "m.keras")
        assert response.status_code == 413 and response.json()["field"] == "weights"
    settings = Settings(data_dir=tmp_path / "data", max_layers=2)
    with TestClient(create_app(settings)) as shallow:
        response = upload(shallow, tmp_path / "deep.keras")
        assert response.status_code == 422 and response.json()["field"] == "config.num_layers"


def keras_zip(config: object, h5: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", h5)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "config",
    [
        [],
        {"class_name": "Sequential", "config": {"layers": 3}},
        {"class_name": "Sequential", "config": {"layers": [1, "x"]}},
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM"}]}},
        {"class_name": "Sequential", "config": {"layers": []}},
        {"class_name": "Model", "config": {}},
        {"class_name": "Sequential", "config": {"layers": [{"config": {"units": 4}}]}},
    ],
)
def test_a_malformed_config_json_is_a_422_never_a_500(client, config) -> None:
    weights = h5_bytes(lambda file: file.create_group("layers"))
    response = post_bytes(client, keras_zip(config, weights))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_a_keras_file_whose_config_does_not_match_its_weights_is_a_422(client, tmp_path) -> None:
    model = build(layers.LSTM(H), layers.Dense(Q))
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
        h5 = archive.read("model.weights.h5")
    config["config"]["layers"][1]["class_name"] = "GRU"  # saved under another name: not found
    response = post_bytes(client, keras_zip(config, h5))
    assert response.status_code == 422, response.text
    assert "variables of layer(s) lstm that config.json does not list" in response.text
    with h5py.File(io.BytesIO(h5), "r") as original:  # the LSTM's variables under gru/
        as_gru = h5_bytes(
            lambda file: [
                original.copy(f"layers/{old}", file, name=f"layers/{new}")
                for old, new in (("lstm", "gru"), ("dense", "dense"))
            ]
        )
    response = post_bytes(client, keras_zip(config, as_gru))
    assert response.status_code == 422, response.text
    assert "kernel has shape (3, 16), expected (3, 12)" in response.json()["detail"]
    config["config"]["layers"][1]["class_name"] = "LSTM"
    config["config"]["layers"][1]["config"]["units"] = 5
    response = post_bytes(client, keras_zip(config, h5))
    assert response.status_code == 422 and "units=5" in response.json()["detail"]


def test_corrupted_keras_files_are_422s_never_500s(client, tmp_path) -> None:
    model = build(layers.GRU(H, return_sequences=True), layers.Dense(Q))
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    rng = np.random.default_rng(12)
    for path in (tmp_path / "m.keras", tmp_path / "m.weights.h5"):
        original = path.read_bytes()
        for _ in range(60):
            data = bytearray(original)
            for _ in range(rng.integers(1, 8)):  # a few bytes anywhere past the magic
                data[rng.integers(8, len(data))] = rng.integers(0, 256)
            response = post_bytes(client, bytes(data))
            assert response.status_code in (201, 422), response.text
