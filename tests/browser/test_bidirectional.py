"""A bidirectional model in the real browser: the page opens it, draws without an error, and
its trace holds each layer's reverse direction as the API computes it."""

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

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
