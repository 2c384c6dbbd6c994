"""The page fetches compact traces (`?fields=states`: the states H, C and dH, dC) and derives the
pre-activations, the gates and dL/dA on its own (static/js/derive.js); every derived array equals
the server's full JSON answer for the same request to 1e-12 relative."""

import json
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page

from tests.browser.helpers import open_explorer

TRACE = "application/vnd.rnn-explorer.trace"
TOLERANCE = 1e-12

READ_LAYERS = """() => JSON.stringify(window.rnnExplorer.trace().layers,
  (key, value) => ArrayBuffer.isView(value) ? Array.from(value) : value)"""


def assert_close(shown: Any, sent: Any, where: str) -> None:
    """Equal shapes, max |shown − sent| ≤ 1e-12 · max |sent| (relative to the array's size)."""
    shown_array = np.asarray(shown, dtype=np.float64)
    sent_array = np.asarray(sent, dtype=np.float64)
    assert shown_array.shape == sent_array.shape, where
    scale = max(float(np.abs(sent_array).max(initial=0.0)), np.finfo(np.float64).tiny)
    error = float(np.abs(shown_array - sent_array).max(initial=0.0)) / scale
    assert error <= TOLERANCE, f"{where}: relative error {error:.2e}"


@pytest.mark.parametrize(
    "cell, nonlinearity, layers",
    [
        ("rnn", "tanh", 1),
        ("rnn", "relu", 2),
        ("rnn", "sigmoid", 1),
        ("lstm", "tanh", 1),
        ("lstm", "tanh", 2),
        ("gru", "tanh", 1),
        ("gru", "tanh", 2),
    ],
)
def test_page_derives_the_full_trace_from_the_compact_one(
    page: Page, live_server: str, cell: str, nonlinearity: str, layers: int
) -> None:
    responses: dict[str, Any] = {}

    def record(response: Any) -> None:
        for route in ("forward", "backward"):
            if f"/{route}?" in response.url and response.request.method == "POST":
                responses[route] = response

    page.on("response", record)
    query = (
        f"task=sine&p.length=12&p.mode=sequence&cell={cell}&nonlinearity={nonlinearity}"
        f"&hidden_size=5&num_layers={layers}"
    )
    open_explorer(page, live_server, query)
    page.wait_for_function("() => window.rnnExplorer.trace()?.hasBackward")
    shown = json.loads(page.evaluate(READ_LAYERS))

    assert set(responses) == {"forward", "backward"}
    full = {}
    for route, response in responses.items():
        assert response.url.endswith("?fields=states")
        assert response.headers["content-type"] == TRACE
        plain = response.url.removesuffix("?fields=states")
        answer = page.request.post(
            plain, data=response.request.post_data, headers={"Content-Type": "application/json"}
        )
        full[route] = answer.json()["trace"]["layers"]
        compact = page.request.post(
            response.url,
            data=response.request.post_data,
            headers={"Content-Type": "application/json"},
        ).json()["trace"]["layers"]
        left_out = {"forward": {"A", "gates"}, "backward": {"dA"}}[route]
        assert all(not left_out & set(layer) for layer in compact), "the compact trace is whole"

    assert len(shown) == layers
    gate_names = {"rnn": set(), "lstm": {"i", "f", "g", "o", "C"}, "gru": {"r", "z", "n"}}[cell]
    for k, layer in enumerate(shown):
        sent, grads = full["forward"][k], full["backward"][k]
        assert_close(layer["H"], sent["H"], f"layer {k} H")
        assert_close(layer["A"], sent["A"], f"layer {k} A")
        assert set(layer["gates"]) == set(sent["gates"]) == gate_names
        for name, values in sent["gates"].items():
            assert_close(layer["gates"][name], values, f"layer {k} gate {name}")
        assert_close(layer["dH"], grads["dH"], f"layer {k} dH")
        assert_close(layer["dA"], grads["dA"], f"layer {k} dA")
        if cell == "lstm":
            assert_close(layer["dC"], grads["dC"], f"layer {k} dC")
