"""The Python client's link in the real browser: another owner's page opens the client's model
with the inputs the client gave, and draws the hidden states the API computes for them."""

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

from rnn_explorer import Client


@pytest.fixture
def client(live_server: str) -> Iterator[Client]:
    with Client(live_server) as made:
        yield made


def test_the_clients_link_shows_its_model_on_its_inputs(page: Page, client: Client) -> None:
    model = client.create_model(cell="lstm", input_size=2, hidden_size=6, output_size=1)
    inputs = np.random.default_rng(0).normal(size=(9, 2)).round(4)
    page.goto(client.link(model["id"], inputs))
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("() => document.body.dataset.traceReady")
    assert page.evaluate("window.rnnExplorer.model().id") == model["id"]
    shown = page.evaluate("window.rnnExplorer.trace().inputs")
    np.testing.assert_array_equal(np.asarray(shown), inputs)
    H = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].H"))
    np.testing.assert_array_equal(H, client.forward(model["id"], inputs)["trace"]["layers"][0]["H"])
    # the link the page keeps still carries the inputs while it shows them
    page.wait_for_function("() => location.hash.startsWith('#inputs=')")


def test_a_malformed_fragment_says_so_and_shows_the_task(page: Page, client: Client) -> None:
    model = client.create_model(cell="rnn", input_size=1, hidden_size=4, output_size=1)
    page.goto(client.link(model["id"]) + "#inputs=[[1],[2,3]]")
    page.wait_for_selector("body[data-ready='true']")
    assert "(T, D) array of finite numbers" in page.evaluate("window.rnnExplorer.state.status")
