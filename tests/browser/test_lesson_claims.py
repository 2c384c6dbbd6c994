"""Each tutorial's central claim, as the lesson shows it on the page: the step opened from its
link, the number read off the page (an equation slot's exact value, the training dashboard,
the trace the views draw) and checked against the API's answer for the same model and input."""

from collections.abc import Callable
from typing import Any

import numpy as np
from playwright.sync_api import Page, expect
from safetensors.numpy import load

from tests.browser.helpers import SERVER, shot


def open_step(explorer: Callable[..., Page], live_server: str, lesson: str, title: str) -> Page:
    steps = SERVER.get(f"{live_server}/api/v1/lessons/{lesson}").json()["steps"]
    index = next(k for k, step in enumerate(steps) if step["title"] == title)
    page = explorer(f"{steps[index]['query']}&lesson={lesson}&step={index}")
    page.wait_for_selector(f"body[data-lesson-step='{lesson}/{index}']")
    page.wait_for_function("() => window.rnnExplorer.state.busy === 0")
    return page


def exact(page: Page, slot: str) -> float:
    """The exact number behind an equation slot the lesson points at."""
    return float(
        page.locator(f"#view-equation [data-slot='{slot}']").first.get_attribute("data-exact")
        or "nan"
    )


def on_show(page: Page, live_server: str) -> tuple[str, dict[str, Any]]:
    """The model on show and its sample (inputs, targets) as the page holds them."""
    model_id = page.evaluate("window.rnnExplorer.model().id")
    trace = page.evaluate(
        "({inputs: window.rnnExplorer.trace().inputs, targets: window.rnnExplorer.trace().targets})"
    )
    return str(model_id), trace


def api_backward(live_server: str, model_id: str, sample: dict[str, Any]) -> dict[str, Any]:
    reply = SERVER.post(
        f"{live_server}/api/v1/models/{model_id}/backward",
        json={"inputs": sample["inputs"], "targets": sample["targets"]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def train_on_page(page: Page) -> dict[str, Any]:
    """Presses Train and waits for the session's end; its last record, from the server, with
    the task's metrics (held-out accuracy, perplexity, …) alongside its step and loss."""
    page.click("#train-start")
    page.wait_for_function(
        "() => /Finished|Stopped/.test(document.getElementById('train-status').textContent)",
        timeout=120_000,
    )
    session = page.evaluate("window.rnnExplorer.session()")
    history = SERVER.get(f"{page.url.split('/?')[0]}/api/v1/training/{session}/history").json()
    last = history["records"][-1]
    return {**last, **last.get("metrics", {})}


def test_simple_rnn_a_250_by_32_input_becomes_a_100_state_through_one_square_w_hh(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "simple-rnn", "Every shape")
    expect(page.locator("#view-equation .shape").first).to_contain_text(
        "(1,32)·(32,100) + (1,100)·(100,100)"
    )
    model_id, sample = on_show(page, live_server)
    forward = SERVER.post(
        f"{live_server}/api/v1/models/{model_id}/forward", json={"inputs": sample["inputs"]}
    ).json()
    H_page = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].H"))
    assert H_page.shape == (250, 100)
    np.testing.assert_allclose(H_page, forward["trace"]["layers"][0]["H"], atol=1e-12)


def test_sine_the_tutorials_weights_stop_the_gradient_after_one_step(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "sine", "The gradient stops after one step")
    shown = exact(page, "dh_norm")  # ‖dL/dH_t‖ at t = 48, one step back from the loss
    model_id, sample = on_show(page, live_server)
    norms = np.asarray(api_backward(live_server, model_id, sample)["trace"]["layers"][0]["dH_norm"])
    assert shown == norms[48] == 0.0
    assert np.all(norms[:49] == 0.0) and norms[49] > 0
    shot(page, "lesson-claim-sine")


def test_sine_step_t_multiplies_row_t_of_w_xh_the_tutorials_column_t_of_u(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "sine", "Step t multiplies column t of U")
    model_id = page.evaluate("window.rnnExplorer.model().id")
    trace_inputs = np.asarray(page.evaluate("window.rnnExplorer.trace().inputs"))
    weights = load(SERVER.get(f"{live_server}/api/v1/models/{model_id}/weights").content)
    U = weights["rnn.weight_ih_l0"]  # PyTorch's (H, D) layout is the tutorial's U
    assert U.shape == (100, 50)
    for t in (3, 4, 5):
        page.evaluate(f"window.rnnExplorer.set({{t: {t}}})")
        x_t = trace_inputs[t]
        assert np.count_nonzero(x_t) <= 1 and x_t[t] == x_t.sum()  # new_input: x[t] at position t
        # unit 0's X_t W_xh on the page is U[0, t] · x[t]: column t of U
        assert np.isclose(exact(page, "xw"), x_t[t] * U[0, t], rtol=1e-12, atol=0)


def test_spiral_the_sigmoid_nets_first_layer_gets_far_less_gradient_than_relus(
    explorer: Callable[..., Page], live_server: str
) -> None:
    shown = {}
    for title, name in (
        ("The sigmoid net's first layer gets a small gradient", "sigmoid"),
        ("The same point with ReLU", "relu"),
    ):
        page = open_step(explorer, live_server, "spiral", title)
        shown[name] = exact(page, "dwxh")  # ‖dW_xh‖ of layer 1 on the sample on show
        model_id, sample = on_show(page, live_server)
        grads = api_backward(live_server, model_id, sample)["grad_norms"]
        assert abs(shown[name] - grads["rnn.weight_ih_l0"]) <= 1e-9 * grads["rnn.weight_ih_l0"]
    assert shown["relu"] > 5 * shown["sigmoid"]


def test_binary_addition_training_gets_every_held_out_sum_exact(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "binary-addition", "Train it: every held-out sum exact")
    model_version = page.evaluate("window.rnnExplorer.model().weights_version")
    last = train_on_page(page)
    assert last["accuracy"] == 1.0
    expect(page.locator("#train-now")).to_contain_text("accuracy 1.000")
    expect(page.locator("#train-status")).to_contain_text("Stopped early because")
    # the next step shows the trained model on 107 + 33: unit 8 is above 0.5 where a bit carries
    page.wait_for_function(  # the page has read the trained weights back
        "v => window.rnnExplorer.model().weights_version !== v", arg=model_version
    )
    page.click("#lesson-next")
    page.wait_for_selector("body[data-lesson-step='binary-addition/4']")
    page.wait_for_function("() => window.rnnExplorer.state.busy === 0")
    # the trained weights, not a fresh model
    assert page.evaluate("window.rnnExplorer.model().weights_version") != model_version
    inputs = np.asarray(page.evaluate("window.rnnExplorer.trace().inputs"))
    a, b = (int("".join(str(int(bit)) for bit in inputs[::-1, k]), 2) for k in (0, 1))
    assert (a, b) == (107, 33)
    carries = [t for t in range(8) if ((a % 2 ** (t + 1)) + (b % 2 ** (t + 1))) >= 2 ** (t + 1)]
    assert carries == [0, 1, 5, 6]
    H8 = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].H"))[:, 8]
    assert [t for t in range(8) if H8[t] > 0.5] == carries
    expect(page.locator("#view-heatmap")).to_have_attribute("data-pointed-unit", "8")
    shot(page, "lesson-claim-binary-carry")


def test_char_model_perplexity_falls_below_8_in_200_steps(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "char-model", "Perplexity falls as it trains")
    last = train_on_page(page)
    assert last["step"] == 200 and last["perplexity"] < 8
    # the dashboard's number is the server's (views/common.js fmt: 3 decimals)
    expect(page.locator("#train-now")).to_contain_text(f"perplexity {last['perplexity']:.3f}")


def test_memory_a_forget_bias_of_1_opens_the_forget_gate_from_the_start(
    explorer: Callable[..., Page], live_server: str
) -> None:
    means = {}
    for title in (
        "The LSTM's cell state, and a forget gate at one half",
        "The forget bias keeps the memory open from the start",
    ):
        page = open_step(explorer, live_server, "memory", title)
        f_page = np.asarray(page.evaluate("window.rnnExplorer.trace().layers[0].gates.f"))
        model_id, sample = on_show(page, live_server)
        forward = SERVER.post(
            f"{live_server}/api/v1/models/{model_id}/forward", json={"inputs": sample["inputs"]}
        ).json()
        np.testing.assert_allclose(f_page, forward["trace"]["layers"][0]["gates"]["f"], atol=1e-12)
        means[title] = float(f_page.mean())
    closed, opened = means.values()
    assert 0.45 < closed < 0.55 and 0.68 < opened < 0.78


def test_spiral_the_dashboard_draws_the_gradient_that_reaches_each_layer_while_it_trains(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = open_step(explorer, live_server, "spiral", "Training the sigmoid net")
    train_on_page(page)
    session = page.evaluate("window.rnnExplorer.session()")
    records = SERVER.get(f"{live_server}/api/v1/training/{session}/history").json()["records"]
    page.wait_for_function(
        "n => document.getElementById('view-grad-history').data.filter("
        "t => t.name.startsWith('‖dW_xh‖')).every(t => t.y.length === n)",
        arg=len(records),
    )
    curves = page.evaluate(
        "document.getElementById('view-grad-history').data"
        ".filter(t => t.name.startsWith('‖dW_xh‖')).map(t => ({name: t.name, y: t.y}))"
    )
    assert [c["name"] for c in curves] == ["‖dW_xh‖ layer 1", "‖dW_xh‖ layer 2"]
    for k, curve in enumerate(curves):
        assert curve["y"] == [r["layer_grad_norms"][k] for r in records]
    first, second = (np.asarray(c["y"]) for c in curves)
    # from step 200 on, as the lesson says (the page reports about 50 times a run)
    late = np.asarray([r["step"] for r in records]) >= 200
    assert late.sum() >= 2 and np.all(second[late] > 10 * first[late])
    shot(page, "lesson-claim-spiral-layers")
