"""Client.import_keras against a real server: real Keras models (PyTorch backend, float64)
imported from their files and run; the outputs against Keras' own."""

import os
from collections.abc import Iterator
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

import keras
import numpy as np
import pytest
from keras.src.backend.common import dtypes as keras_dtypes

from rnn_explorer import ApiError, Client
from tests.servers import LiveServer

keras.config.set_floatx("float64")
# Keras demotes float64 to float32 in its matmul on the PyTorch backend (JAX's promotion rule,
# dtypes.BIT64_TO_BIT32_DTYPE); undone so that its SimpleRNN and Dense compute in float64.
keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with (
        LiveServer(tmp_path_factory.mktemp("keras") / "data") as live,
        Client(live.base_url) as made,
    ):
        yield made


def keras_model(*stack: keras.layers.Layer) -> keras.Model:
    model = keras.Sequential([keras.Input((8, 2)), *stack])
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    return model


def test_a_keras_model_imported_by_the_client_runs_as_keras_runs_it(
    client: Client, tmp_path: Path
) -> None:
    model = keras_model(keras.layers.SimpleRNN(6, activation="relu"), keras.layers.Dense(3))
    model.save(tmp_path / "tutorial.keras")
    model.save_weights(tmp_path / "tutorial.weights.h5")
    x = np.random.default_rng(1).normal(size=(5, 8, 2))
    expected = keras.ops.convert_to_numpy(model(x))
    whole = client.import_keras(tmp_path / "tutorial.keras", name="tutorial")
    bare = client.import_keras(
        tmp_path / "tutorial.weights.h5", nonlinearity="relu", output_mode="last"
    )
    for imported in (whole, bare):
        assert imported["config"]["nonlinearity"] == "relu"
        outputs = client.forward(imported["id"], x)["outputs"]
        np.testing.assert_allclose(outputs.reshape(expected.shape), expected, rtol=0, atol=1e-12)
    assert whole["name"] == "tutorial"


def test_a_keras_layer_the_server_cannot_compute_is_an_api_error_naming_it(
    client: Client, tmp_path: Path
) -> None:
    keras_model(keras.layers.GRU(4, reset_after=False)).save(tmp_path / "gru.keras")
    with pytest.raises(ApiError) as raised:
        client.import_keras(tmp_path / "gru.keras")
    assert raised.value.status == 422 and "reset_after=False" in str(raised.value.detail)
