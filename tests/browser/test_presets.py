"""Presets from the page: one click selects the preset's task and parameters, builds its model
and takes its training settings (compared with GET /api/v1/presets), and the link keeps it."""

from collections.abc import Callable
from typing import Any

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.helpers import wait_for_new_trace

# The training settings the page's form shows.
FORM_TRAINING = ("optimizer", "lr", "steps", "batch_size")


def presets(live_server: str) -> list[dict[str, Any]]:
    return list(httpx2.get(f"{live_server}/api/v1/presets").json())


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
        config = httpx2.get(f"{live_server}/api/v1/models/{model_id}").json()["config"]
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
        t["name"]: t["default_config"] for t in httpx2.get(f"{live_server}/api/v1/tasks").json()
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


def test_a_shapes_only_preset_says_so_and_keeps_the_view(
    explorer: Callable[..., Page], live_server: str
) -> None:
    shapes_only = [p for p in presets(live_server) if not p["task"]]
    assert shapes_only
    page = explorer()
    before = page.evaluate("document.body.dataset.traceReady")
    page.click(f'#presets button[data-preset="{shapes_only[0]["name"]}"]')
    expect(page.locator("#status")).to_contain_text("shapes only")
    expect(page.locator("#error")).to_be_hidden()
    assert page.evaluate("document.body.dataset.traceReady") == before
