"""A padded batch of sequences of their own lengths in the real browser: the page sends each
sequence's length, steps it to its own end and no further, draws its padded steps as padding,
and its values are the API's for that sequence of the batch."""

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

from rnn_explorer import Client


@pytest.fixture
def client(live_server: str) -> Iterator[Client]:
    with Client(live_server) as made:
        yield made


@pytest.mark.parametrize("bidirectional", [False, True])
def test_each_sequence_of_a_padded_batch_stops_at_its_own_end(
    page: Page, client: Client, bidirectional: bool
) -> None:
    model = client.create_model(
        cell="lstm", input_size=2, hidden_size=4, output_size=1, bidirectional=bidirectional
    )
    T, lengths = 8, [8, 3]
    inputs = np.random.default_rng(5).normal(size=(2, T, 2)).round(4)
    inputs[1, lengths[1] :] = 0.0  # padding
    answer = client.forward(model["id"], inputs, lengths=lengths)
    H_batch = np.asarray(answer["trace"]["layers"][0]["H"])  # (B, T, H)

    page.goto(client.link(model["id"], inputs, lengths=lengths))
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("() => document.body.dataset.traceReady")
    first = page.evaluate("document.body.dataset.traceReady")
    # the longer sequence first: all T steps are real
    page.keyboard.press("End")
    assert page.evaluate("window.rnnExplorer.state.t") == T - 1

    # the shorter one, picked in the form: its own end is lengths[1] - 1
    page.select_option("#sequence-shown", "1")
    page.wait_for_function("prev => document.body.dataset.traceReady !== prev", arg=first)
    assert page.evaluate("window.rnnExplorer.state.t") == lengths[1] - 1
    page.evaluate("window.rnnExplorer.set({t: 0})")
    for _ in range(T + 2):
        page.locator("#step-forward").click()
    assert page.evaluate("window.rnnExplorer.state.t") == lengths[1] - 1
    assert page.locator("#scrub").get_attribute("max") == str(lengths[1] - 1)
    page.keyboard.press("End")
    assert page.evaluate("window.rnnExplorer.state.t") == lengths[1] - 1
    # playing from the start stops at the sequence's own end
    page.evaluate("window.rnnExplorer.set({t: 0, speed: 60})")
    page.locator("#play").click()
    page.wait_for_function("() => !window.rnnExplorer.state.playing")
    assert page.evaluate("window.rnnExplorer.state.t") == lengths[1] - 1

    # the values on show are the API's for sequence 1 of the batch (the page asks for the
    # sequence on show alone, with its length: equal up to the rounding of a batched matmul)
    # (the padded steps' zeros and the final state say the page sent the sequence's length)
    H = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].H"))
    np.testing.assert_allclose(H, H_batch[1], rtol=0, atol=1e-14)
    assert not H[lengths[1] :].any()
    final = np.asarray(page.evaluate("window.rnnExplorer.trace().finalState.h"))
    final_batch = np.asarray(answer["trace"]["final_state"]["h"])[:, 1]
    np.testing.assert_allclose(final, final_batch, rtol=0, atol=1e-14)
    if bidirectional:
        # the reverse direction starts at the sequence's own last step, as the API's
        reverse = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].reverse.H"))
        reverse_batch = answer["trace"]["layers"][0]["reverse"]["H"][1]
        np.testing.assert_allclose(reverse, reverse_batch, rtol=0, atol=1e-14)
        rows = ["h1", "hr1"]
    else:
        rows = ["h1"]
    node = page.locator("#view-unrolled [data-row=h1][data-t='2']")
    shown = float(node.locator("title").text_content().split("unit 0: ")[1].split("\n")[0])
    assert shown == pytest.approx(H_batch[1, 2, 0], abs=1e-3)
    # the padded steps drawn as padding, never as values
    for row in rows:
        real = page.locator(f"#view-unrolled [data-row={row}][data-t='{lengths[1] - 1}']")
        assert "padding" not in (real.get_attribute("class") or "")
        assert page.locator(f"#view-unrolled .node.padding[data-row={row}]").count() >= 1
        for t in range(lengths[1], T):
            padded = page.locator(f"#view-unrolled [data-row={row}][data-t='{t}']")
            if padded.count() == 0:
                continue  # outside the diagram's window
            assert "padding" in (padded.get_attribute("class") or "")
            assert padded.get_attribute("fill") == "url(#veil-hatch)"
            assert "padding" in padded.locator("title").text_content()
    z = page.evaluate("document.getElementById('view-heatmap').data[0].z")
    assert all(row[t] is None for row in z for t in range(lengths[1], T))
    np.testing.assert_allclose(
        np.asarray([row[: lengths[1]] for row in z]).T, H_batch[1, : lengths[1]], rtol=0, atol=1e-14
    )
    # the charts over time leave the padded steps blank too: the outputs, the gates, the overview
    outputs_batch = np.asarray(answer["outputs"])[1, :, 0]
    for chart, series, truth in [
        ("view-outputs", 0, outputs_batch),
        ("view-overview", 0, H_batch[1, :, 0]),
        ("view-gates", 0, np.asarray(answer["trace"]["layers"][0]["gates"]["i"])[1, :, 0]),
    ]:
        y = page.evaluate(f"document.getElementById('{chart}').data[{series}].y")
        assert all(v is None for v in y[lengths[1] :]), chart
        np.testing.assert_allclose(y[: lengths[1]], truth[: lengths[1]], rtol=0, atol=1e-14)


def test_lengths_outside_the_steps_are_refused_with_the_element_named(
    page: Page, client: Client
) -> None:
    model = client.create_model(cell="rnn", input_size=1, hidden_size=3, output_size=1)
    inputs = np.ones((2, 4, 1))
    page.goto(client.link(model["id"], inputs, lengths=[4, 5]))
    page.wait_for_selector("body[data-ready='true']")
    status = page.evaluate("window.rnnExplorer.state.status")
    assert "lengths[1] = 5" in status and "1…T = 4" in status
    assert page.evaluate("window.rnnExplorer.state.linkInputs") is None
    assert page.locator("#sequence-pick").is_hidden()
