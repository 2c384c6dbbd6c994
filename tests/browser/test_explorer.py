"""The explorer page end to end: it loads under its CSP, draws every view, steps with the
keyboard, and the numbers it shows are the API's numbers for that step."""

from collections.abc import Callable
from typing import Any

import numpy as np
from playwright.sync_api import Page, expect
from safetensors.numpy import load

from tests.browser.helpers import SERVER, shot, wait_for_new_trace

PLOTS = [
    "view-overview",
    "view-heatmap",
    "view-outputs",
    "view-gradients",
    "view-gates",
    "view-weights",
]


def page_model(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("window.rnnExplorer.model()"))


def page_inputs(page: Page) -> list[Any]:
    return list(page.evaluate("window.rnnExplorer.trace().inputs"))


def page_targets(page: Page) -> Any:
    return page.evaluate("window.rnnExplorer.trace().targets")


def slot(page: Page, name: str) -> float:
    """The exact number behind a live number of the equation view."""
    value = page.locator(f"#view-equation [data-slot='{name}']").get_attribute("data-exact")
    assert value is not None, f"the equation shows no number for {name}"
    return float(value)


def test_page_is_served_with_a_strict_content_security_policy(live_server: str) -> None:
    response = SERVER.get(live_server + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert "<script>" not in response.text  # every script is a file


def test_page_loads_and_draws_every_view(explorer: Callable[..., Page]) -> None:
    page = explorer()
    for plot in PLOTS:
        expect(page.locator(f"#{plot} .main-svg").first).to_be_attached()
    expect(page.locator("#view-unrolled svg .node").first).to_be_visible()
    expect(page.locator("#view-equation .eq").first).to_be_visible()
    expect(page.locator("#model-summary")).to_contain_text("parameters")
    expect(page.locator("#error")).to_be_hidden()
    shot(page, "explorer-forward")


def test_arrow_keys_step_the_cursor_and_the_equation_shows_the_apis_numbers(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("unit=2")
    page.locator("body").press("End")
    page.locator("body").press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#t-label")).to_contain_text("t = 2 of 0…")
    model = page_model(page)
    forward = SERVER.post(
        f"{live_server}/api/v1/models/{model['id']}/forward", json={"inputs": page_inputs(page)}
    ).json()
    H_2 = forward["trace"]["layers"][0]["H"][2][2]
    assert slot(page, "h") == H_2
    shown = page.locator("#view-equation [data-slot='h']").text_content() or ""
    assert abs(float(shown) - H_2) < 1e-4
    # the terms of A_t, recomputed from the downloaded weights, add up to the server's A_t
    A_2 = forward["trace"]["layers"][0]["A"][2][2]
    assert abs(slot(page, "xw") + slot(page, "hw") + slot(page, "b") - A_2) < 1e-12


def test_backward_pass_shows_the_apis_gradient_norm_flowing_right_to_left(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer()
    page.keyboard.press("b")
    assert page.evaluate("window.rnnExplorer.state.phase") == "backward"
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    T = page.evaluate("window.rnnExplorer.trace().T")
    model = page_model(page)
    backward = SERVER.post(
        f"{live_server}/api/v1/models/{model['id']}/backward",
        json={"inputs": page_inputs(page), "targets": page_targets(page)},
    ).json()
    assert slot(page, "dh_norm") == backward["trace"]["layers"][0]["dH_norm"][T - 2]
    # the part of dL/dH_t that BPTT carries back from t+1 is dL/dA_{t+1} W_hhᵀ
    weights = load(SERVER.get(f"{live_server}/api/v1/models/{model['id']}/weights").content)
    dA_next = np.array(backward["trace"]["layers"][0]["dA"][T - 1])
    unit = page.evaluate("window.rnnExplorer.state.unit")
    from_future = float(dA_next @ weights["rnn.weight_hh_l0"][:, unit])
    assert abs(slot(page, "dh_future") - from_future) < 1e-12
    expect(page.locator("#view-equation .code span.active").first).to_be_visible()
    shot(page, "explorer-backward")


def test_space_plays_and_pauses(explorer: Callable[..., Page]) -> None:
    # 50 steps at 10 a second: the second press lands seconds before the run could end by itself.
    page = explorer("task=sine&speed=10")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.rnnExplorer.state.t >= 3")
    page.keyboard.press("Space")
    assert page.evaluate("window.rnnExplorer.state.playing") is False
    expect(page.locator("#play")).to_have_attribute("aria-label", "Play")


def test_help_overlay_lists_the_shortcuts(explorer: Callable[..., Page]) -> None:
    page = explorer()
    page.keyboard.press("?")
    dialog = page.locator("#help")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Play / pause")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_url_round_trips_the_whole_view(explorer: Callable[..., Page], page: Page) -> None:
    page = explorer("cell=gru&hidden_size=12&seed=3&t=4&unit=5&phase=backward&sample=2")
    trace = page.evaluate("window.rnnExplorer.trace().config")
    assert (trace["cell"], trace["hidden_size"], trace["seed"]) == ("gru", 12, 3)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => new URLSearchParams(location.search).get('t') === '5'")
    url = page.url
    previous = page_inputs(page)
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    state = page.evaluate("window.rnnExplorer.state")
    assert (state["t"], state["unit"], state["phase"], state["sampleSeed"]) == (5, 5, "backward", 2)
    assert page.locator("#cell").input_value() == "gru"
    assert page_inputs(page) == previous


def test_a_new_configuration_builds_a_new_model_and_shows_its_gates(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("unit=3")
    before = page.evaluate("document.body.dataset.traceReady")
    page.select_option("#cell", "lstm")
    page.fill("#hidden-size", "8")
    page.click("#run")
    wait_for_new_trace(page, before)
    assert page_model(page)["config"]["cell"] == "lstm"
    expect(page.locator("#view-gates .legend")).to_be_attached()
    expect(page.locator("#view-equation")).to_contain_text("C_t = f⊙C_{t−1}")
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    model = page_model(page)
    gates = SERVER.post(
        f"{live_server}/api/v1/models/{model['id']}/forward", json={"inputs": page_inputs(page)}
    ).json()["trace"]["layers"][0]["gates"]
    # the page derives the gates from H, C and the weights (static/js/derive.js); C it is sent
    for name in ("i", "f", "g", "o"):
        assert abs(slot(page, name) - gates[name][4][3]) <= 1e-12, name
    assert slot(page, "c") == gates["C"][4][3]
    shot(page, "explorer-lstm-gates")


def test_an_lstm_forget_bias_from_the_form_reaches_the_model_and_the_link(
    explorer: Callable[..., Page],
) -> None:
    page = explorer()
    expect(page.locator("#forget-bias")).to_be_disabled()  # no forget gate in a vanilla RNN
    before = page.evaluate("document.body.dataset.traceReady")
    page.select_option("#cell", "lstm")
    page.fill("#forget-bias", "1")
    page.click("#run")
    wait_for_new_trace(page, before)
    config = page_model(page)["config"]
    assert config["cell"] == "lstm" and config["forget_bias"] == 1.0
    assert "forget_bias=1" in page.url
    before = page.evaluate("document.body.dataset.traceReady")
    page.select_option("#cell", "gru")
    expect(page.locator("#forget-bias")).to_be_disabled()
    page.click("#run")
    wait_for_new_trace(page, before)
    assert page_model(page)["config"]["forget_bias"] == 0.0


def test_api_errors_are_shown_in_place(
    explorer: Callable[..., Page], allowed_console_errors: list[str]
) -> None:
    allowed_console_errors.append("422")
    page = explorer()
    page.fill("#hidden-size", "100000")
    page.click("#run")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("hidden")


def test_every_task_runs_forward_and_backward(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer()
    names = page.eval_on_selector_all("#task option", "options => options.map(o => o.value)")
    assert len(names) >= 2
    for name in names:
        before = page.evaluate("document.body.dataset.traceReady")
        page.select_option("#task", name)
        wait_for_new_trace(page, before)
        expect(page.locator("#error")).to_be_hidden()
        trace = page.evaluate(
            "(() => { const t = window.rnnExplorer.trace();"
            " return {task: t.task, T: t.T, back: t.hasBackward, loss: t.loss}; })()"
        )
        assert trace["task"] == name
        assert trace["back"] and trace["loss"] is not None
        page.keyboard.press("End")
        page.keyboard.press("b")
        expect(page.locator("#view-equation")).to_contain_text("dL/dH_t")
        page.keyboard.press("b")
        shot(page, f"task-{name}")


def test_a_malformed_link_falls_back_to_the_defaults(explorer: Callable[..., Page]) -> None:
    page = explorer("task=nope&cell=<b>&hidden_size=-3&t=99999&unit=abc&phase=sideways&cmpA=x.y.z")
    state = page.evaluate("window.rnnExplorer.state")
    trace = page.evaluate("window.rnnExplorer.trace().config")
    assert state["task"] == page.eval_on_selector("#task", "s => s.options[0].value")
    assert trace["cell"] in ("rnn", "lstm", "gru")
    assert state["t"] == page.evaluate("window.rnnExplorer.trace().T - 1")
    assert (state["unit"], state["phase"]) == (0, "forward")
    assert state["compare"]["a"]["cell"] in ("rnn", "lstm", "gru")
    expect(page.locator("#error")).to_be_hidden()
