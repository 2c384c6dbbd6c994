"""A Keras model imported on the page: the page's trace holds Keras' own outputs."""

import json
import os
from collections.abc import Callable
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

import keras
import numpy as np
from keras.src.backend.common import dtypes as keras_dtypes
from playwright.sync_api import Page

from tests.browser.helpers import wait_for_new_trace

keras.config.set_floatx("float64")
# Keras demotes float64 to float32 in its matmul on the PyTorch backend (JAX's promotion rule,
# dtypes.BIT64_TO_BIT32_DTYPE); undone so that its SimpleRNN and Dense compute in float64.
keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

READ = """() => {
  const { inputs, outputs } = window.rnnExplorer.trace();
  const plain = (rows) => Array.from(rows, (row) => Array.from(row));
  return JSON.stringify({ inputs: plain(inputs), outputs: plain(outputs) });
}"""


def test_a_keras_file_imported_on_the_page_shows_keras_outputs(
    explorer: Callable[..., Page], tmp_path: Path
) -> None:
    page = explorer("task=sine&p.length=12&p.mode=sequence")
    model = keras.Sequential(
        [keras.Input((None, 1)), keras.layers.SimpleRNN(6, return_sequences=True),
         keras.layers.Dense(1)]
    )  # fmt: skip
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([rng.normal(scale=0.5, size=w.shape) for w in layer.get_weights()])
    model.save(tmp_path / "sine.keras")
    previous = page.evaluate("document.body.dataset.traceReady")
    page.set_input_files("#import-weights", str(tmp_path / "sine.keras"))
    wait_for_new_trace(page, previous)
    imported = page.evaluate("window.rnnExplorer.model()")
    assert imported["name"] == "sine" and imported["config"]["cell"] == "rnn"
    shown = json.loads(page.evaluate(READ))
    inputs = np.asarray(shown["inputs"])
    expected = keras.ops.convert_to_numpy(model(inputs[None]))[0]
    np.testing.assert_allclose(np.asarray(shown["outputs"]), expected, rtol=0, atol=1e-12)
