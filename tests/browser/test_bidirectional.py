"""A bidirectional model in the real browser: the page opens it, draws without an error, and
its trace holds each layer's reverse direction as the API computes it."""

import json
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from rnn_explorer import Client


@pytest.fixture
def client(live_server: str) -> Iterator[Client]:
    with Client(live_server) as made:
        yield made


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_page_opens_a_bidirectional_model(page: Page, client: Client, cell: str) -> None:
    model = client.create_model(
        cell=cell, input_size=2, hidden_size=5, output_size=1, num_layers=2, bidirectional=True
    )
    inputs = np.random.default_rng(0).normal(size=(7, 2)).round(4)
    page.goto(client.link(model["id"], inputs))
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("() => document.body.dataset.traceReady")
    answer = client.forward(model["id"], inputs)["trace"]["layers"]
    for k in range(2):
        H = np.asarray(page.evaluate(f"window.rnnExplorer.trace().layers[{k}].H"))
        np.testing.assert_array_equal(H, answer[k]["H"])
        reverse = np.asarray(page.evaluate(f"window.rnnExplorer.trace().layers[{k}].reverse.H"))
        np.testing.assert_array_equal(reverse, answer[k]["reverse"]["H"])


def test_the_unrolled_network_has_a_reverse_row_per_layer(page: Page, client: Client) -> None:
    """Each layer's reverse direction is a row of its own, above the forward one, its nodes
    titled with the API's H←_t and its recurrent edges running right to left."""
    model = client.create_model(
        cell="gru", input_size=2, hidden_size=3, output_size=1, num_layers=2, bidirectional=True
    )
    inputs = np.random.default_rng(2).normal(size=(5, 2)).round(4)
    page.goto(client.link(model["id"], inputs))
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("() => document.body.dataset.traceReady")
    answer = client.forward(model["id"], inputs)["trace"]["layers"]
    for k in range(2):
        forward = page.locator(f"[data-row=h{k + 1}][data-t='1']")
        reverse = page.locator(f"[data-row=hr{k + 1}][data-t='1']")
        assert float(reverse.get_attribute("cy")) < float(forward.get_attribute("cy"))
        title = reverse.locator("title").text_content()
        assert "unit 0: " in title
        shown = float(title.split("unit 0: ")[1].split("\n")[0])
        assert shown == pytest.approx(answer[k]["reverse"]["H"][1][0], abs=1e-3)
    edges = page.locator("line.recurrent.reverse[data-layer='0']")
    assert edges.count() >= 1
    first = edges.first
    assert float(first.get_attribute("x1")) > float(first.get_attribute("x2"))  # right to left


def test_streaming_a_padded_bidirectional_sequence_matches_both_directions(
    page: Page, client: Client
) -> None:
    """The replay asks for binary frames with the sequence's length; every frame's rows of both
    directions equal the trace on show, and the cursor stops at the sequence's own end."""
    model = client.create_model(
        cell="gru", input_size=2, hidden_size=3, output_size=1, num_layers=2, bidirectional=True
    )
    T, lengths = 6, [4, 6]
    inputs = np.random.default_rng(4).normal(size=(2, T, 2)).round(4)
    sent: list[str] = []
    binary: list[bytes] = []

    def watch(socket) -> None:
        socket.on("framesent", lambda payload: sent.append(payload))
        socket.on(
            "framereceived",
            lambda payload: binary.append(payload) if isinstance(payload, bytes) else None,
        )

    page.on("websocket", watch)
    page.goto(client.link(model["id"], inputs, lengths=lengths))
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("() => document.body.dataset.traceReady")
    page.evaluate("window.rnnExplorer.set({speed: 60})")
    page.click("#stream")
    status = page.locator("#status")
    expect(status).to_contain_text("Streamed 6 frames over the WebSocket, both directions")
    expect(status).to_contain_text("match the REST trace to 0.0e+0")
    assert page.evaluate("window.rnnExplorer.state.t") == lengths[0] - 1
    (command,) = [json.loads(text) for text in sent]
    assert command["lengths"] == [lengths[0]] and command["format"] == "binary"
    assert len(binary) == T and all(frame[:4] == b"RNNT" for frame in binary)
