"""Presets from the page: one click selects the preset's task and parameters, builds its model
and takes its training settings (compared with GET /api/v1/presets), and the link keeps it. A
shapes-only preset (no task) runs its model forward on its example inputs."""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from safetensors.numpy import load

from app.tasks import PRESETS
from tests.browser.helpers import SERVER, wait_for_new_trace

# The training settings the page's form shows.
FORM_TRAINING = ("optimizer", "lr", "steps", "batch_size")
# The presets without a task: they show a model's shapes on example inputs.
SHAPES_ONLY = [name for name, preset in PRESETS.items() if preset.task is None]


def presets(live_server: str) -> list[dict[str, Any]]:
    return list(SERVER.get(f"{live_server}/api/v1/presets").json())


def click_preset(page: Page, name: str) -> None:
    before = page.evaluate("document.body.dataset.traceReady")
    page.click(f'#presets button[data-preset="{name}"]')
    wait_for_new_trace(page, before)
    expect(page.locator("#error")).to_be_hidden()


def test_every_preset_with_a_task_sets_task_model_and_training(
    explorer: Callable[..., Page], live_server: str
) -> None:
    with_task = [p for p in presets(live_server) if p["task"]]
    assert with_task
    page = explorer()
    for preset in with_task:
        click_preset(page, preset["name"])
        state = page.evaluate("window.rnnExplorer.state")
        assert (state["task"], state["preset"]) == (preset["task"], preset["name"])
        model_id = page.evaluate("window.rnnExplorer.model().id")
        config = SERVER.get(f"{live_server}/api/v1/models/{model_id}").json()["config"]
        assert {k: config[k] for k in preset["model"]} == preset["model"], preset["name"]
        for name, value in preset["task_params"].items():
            control = page.locator(f"#param-{name}")
            assert control.input_value() == str(value), (preset["name"], name)
        for name in FORM_TRAINING:
            assert state["training"][name] == preset["training"][name], (preset["name"], name)


def test_a_presets_link_builds_the_presets_model_again(
    explorer: Callable[..., Page], live_server: str
) -> None:
    # a preset that changes a field the form does not show: the link must still carry it
    task_defaults = {
        t["name"]: t["default_config"] for t in SERVER.get(f"{live_server}/api/v1/tasks").json()
    }
    preset = next(
        p
        for p in presets(live_server)
        if p["task"] and p["model"]["loss"] != task_defaults[p["task"]]["loss"]
    )
    page = explorer()
    click_preset(page, preset["name"])
    query = page.evaluate("window.rnnExplorer.query()")
    page = explorer(query)
    assert page.evaluate("window.rnnExplorer.state.preset") == preset["name"]
    assert page.evaluate("window.rnnExplorer.model().config.loss") == preset["model"]["loss"]


def example_inputs(live_server: str, name: str, seed: int) -> np.ndarray:
    """The first sequence (T, D) of the preset's example of that seed."""
    example = SERVER.get(
        f"{live_server}/api/v1/presets/{quote(name)}/example", params={"seed": seed}
    ).json()
    return np.array(example["inputs"][0])


def hidden_states(live_server: str, model_id: str, X: np.ndarray) -> np.ndarray:
    """H: (T, H) of a one-layer tanh RNN, H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), from the
    model's weights (PyTorch's layout: W_xh = weight_ihᵀ, b_h = bias_ih + bias_hh)."""
    weights = load(SERVER.get(f"{live_server}/api/v1/models/{model_id}/weights").content)
    W_xh = weights["rnn.weight_ih_l0"].T
    W_hh = weights["rnn.weight_hh_l0"].T
    b_h = weights["rnn.bias_ih_l0"] + weights["rnn.bias_hh_l0"]
    H_t = np.zeros(W_hh.shape[0])
    H = []
    for X_t in X:
        H_t = np.tanh(X_t @ W_xh + H_t @ W_hh + b_h)
        H.append(H_t)
    return np.array(H)


def model_config(page: Page, live_server: str) -> dict[str, Any]:
    """The server's config of the model on show."""
    model_id = page.evaluate("window.rnnExplorer.model().id")
    return dict(SERVER.get(f"{live_server}/api/v1/models/{model_id}").json()["config"])


def assert_shows_the_presets_example(
    page: Page, live_server: str, preset: dict[str, Any], seed: int
) -> None:
    """The preset's model, a forward pass on its example's first sequence, no backward pass."""
    state = page.evaluate("window.rnnExplorer.state")
    assert (state["task"], state["preset"], state["sampleSeed"]) == ("", preset["name"], seed)
    config = model_config(page, live_server)
    assert {key: config[key] for key in preset["model"]} == preset["model"], preset["name"]
    X = example_inputs(live_server, preset["name"], seed)
    trace = page.evaluate(
        "(({inputs, layers, hasBackward, loss}) => ({inputs, H: layers[0].H, hasBackward, loss}))"
        "(window.rnnExplorer.trace())"
    )
    assert np.allclose(np.array(trace["inputs"]), X, rtol=0, atol=1e-6)
    expected_H = hidden_states(live_server, page.evaluate("window.rnnExplorer.model().id"), X)
    assert np.allclose(np.array(trace["H"]), expected_H, rtol=0, atol=1e-6)
    assert (trace["hasBackward"], trace["loss"]) == (False, None)
    expect(page.locator("#error")).to_be_hidden()


@pytest.mark.parametrize("name", SHAPES_ONLY)
def test_a_shapes_only_preset_runs_its_model_forward_on_its_example(
    explorer: Callable[..., Page], live_server: str, name: str
) -> None:
    preset = next(p for p in presets(live_server) if p["name"] == name)
    B, T, D = preset["example_shape"]
    page = explorer()
    click_preset(page, name)
    assert_shows_the_presets_example(page, live_server, preset, seed=0)
    expect(page.locator("#status")).to_contain_text(
        f"{name}: {f'the first of its {B} example sequences, ' if B > 1 else ''}"
        f"an input of shape ({T}, {D})"
    )
    expect(page.locator("#status")).to_contain_text("forward pass only (no task, no targets)")
    # the form shows the preset's model and that it has no task
    assert page.locator("#task").input_value() == ""
    expect(page.locator("#task option:checked")).to_have_text("No task (shapes only)")
    expect(page.locator("#task-description")).to_contain_text("It has no task")
    assert page.locator("#hidden-size").input_value() == str(preset["model"]["hidden_size"])
    assert page.locator("#init").input_value() == preset["model"]["init"]
    expect(page.locator("#task-params [data-param]")).to_have_count(0)
    expect(page.locator('input[name="phase"][value="backward"]')).to_be_disabled()
    expect(page.locator("#view-gradients")).to_contain_text("no targets")

    # another example: the seed is the sample's, and the link keeps it with the preset
    before = page.evaluate("document.body.dataset.traceReady")
    page.fill("#sample-seed", "2")
    page.locator("#sample-seed").dispatch_event("change")
    wait_for_new_trace(page, before)
    assert_shows_the_presets_example(page, live_server, preset, seed=2)
    query = page.evaluate("window.rnnExplorer.query()")
    page = explorer(query)
    assert_shows_the_presets_example(page, live_server, preset, seed=2)
    assert page.evaluate("window.rnnExplorer.query()") == query

    # a task's preset afterwards: its task, its model, a backward pass
    task_preset = next(p for p in presets(live_server) if p["task"])
    click_preset(page, task_preset["name"])
    state = page.evaluate("window.rnnExplorer.state")
    assert (state["task"], state["preset"]) == (task_preset["task"], task_preset["name"])
    config = model_config(page, live_server)
    assert {key: config[key] for key in task_preset["model"]} == task_preset["model"]
    assert page.evaluate("window.rnnExplorer.trace().hasBackward") is True
    assert page.locator("#task").input_value() == task_preset["task"]


def test_every_view_copes_with_a_forward_only_trace(
    explorer: Callable[..., Page], live_server: str
) -> None:
    name = "rnn_forward (course)"
    page = explorer()
    click_preset(page, name)
    T = page.evaluate("window.rnnExplorer.trace().T")
    page.keyboard.press("End")
    page.wait_for_function(f"() => window.rnnExplorer.state.t === {T - 1}")
    # there is no backward pass to step into
    page.keyboard.press("b")
    assert page.evaluate("window.rnnExplorer.state.phase") == "forward"
    outputs = page.evaluate(
        "document.getElementById('view-outputs').data.map(d => d.name || d.type)"
    )
    assert "target" not in outputs
    page.click("#tab-train")
    expect(page.locator("#view-task-results")).to_contain_text("no targets")
    page.click("#train-start")
    expect(page.locator("#error")).to_contain_text("has no task")
    page.click("#tab-compare")
    page.click("#tab-explore")
    page.click("#stream")
    expect(page.locator("#status")).to_contain_text(f"Streamed {T} frames", timeout=20_000)
    expect(page.locator("#status")).to_contain_text("forward only")


def test_a_task_after_a_shapes_only_preset_is_as_before(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer()
    # KaTeX loads after the first trace is drawn; its flag is part of the state compared below
    page.wait_for_function("window.rnnExplorer.state.typesetter === true")
    first = page.evaluate("window.rnnExplorer.state")
    click_preset(page, "SimpleRNN shapes")
    before = page.evaluate("document.body.dataset.traceReady")
    page.select_option("#task", first["task"])
    wait_for_new_trace(page, before)
    expect(page.locator("#error")).to_be_hidden()
    assert page.evaluate("window.rnnExplorer.state") == first
    assert page.evaluate("window.rnnExplorer.query()") == ""
    assert page.evaluate("window.rnnExplorer.trace().hasBackward") is True
    # the task menu holds the server's tasks again, without the shapes-only preset's "no task"
    expect(page.locator('#task option[value=""]')).to_have_count(0)
