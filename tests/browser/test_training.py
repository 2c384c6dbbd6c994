"""Training from the page: the session starts, its metric frames stream in over the WebSocket,
the loss curve grows, and the views follow the new weights."""

import itertools
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, shot, small_figure_text


def loss_points(page: Page) -> int:
    return int(page.evaluate("document.getElementById('view-loss').data[0].x.length"))


def test_training_a_few_steps_grows_the_loss_curve(explorer: Callable[..., Page]) -> None:
    page = explorer("task=sine&tab=train")
    expect(page.locator("#panel-train")).to_be_visible()
    page.fill("#train-steps", "80")
    version_before = page.evaluate("window.rnnExplorer.model().weights_version")
    passes: list[float] = []  # when the page asked for a forward pass (its trace)
    page.on(
        "request",
        lambda r: (
            passes.append(time.monotonic()) if r.url.split("?")[0].endswith("/forward") else None
        ),
    )
    page.click("#train-start")
    page.wait_for_function(
        "() => document.getElementById('view-loss').data[0].x.length >= 3", timeout=60_000
    )
    expect(page.locator("#train-now")).to_contain_text("loss")
    page.wait_for_function(
        "() => /Finished|Stopped/.test(document.getElementById('train-status').textContent)",
        timeout=60_000,
    )
    assert loss_points(page) >= 3
    losses = page.evaluate("document.getElementById('view-loss').data[0].y")
    assert all(loss > 0 for loss in losses)
    assert min(losses[1:]) < losses[0]
    expect(page.locator("#train-start")).to_be_enabled()
    shot(page, "training-dashboard")
    assert small_figure_text(page, "#panel-train") == []
    # the trace of the changing weights is fetched at most once a second (it may be less)
    gaps = [later - earlier for earlier, later in itertools.pairwise(passes)]
    assert all(gap > 0.9 for gap in gaps), gaps
    # and the page follows the trained weights
    page.wait_for_function(
        f"() => window.rnnExplorer.model().weights_version !== {version_before}",
        timeout=20_000,
    )


def test_pause_step_resume_and_stop_show_the_servers_state(
    explorer: Callable[..., Page], live_server: str
) -> None:
    # The character model has no early stop: the session is still running when Pause comes
    # (binary addition can be solved, and so finished, before the click on a quiet machine).
    page = explorer("task=char_lm&tab=train")
    page.fill("#train-steps", "5000")
    page.click("#train-start")
    expect(page.locator("#train-pause")).to_be_enabled()
    session = page.evaluate("window.rnnExplorer.session()")

    def on_server() -> dict[str, Any]:
        return dict(SERVER.get(f"{live_server}/api/v1/training/{session}").json())

    status = page.locator("#train-status")
    page.click("#train-pause")
    expect(status).to_contain_text("Paused at step")
    paused = on_server()
    assert paused["status"] == "paused"
    expect(status).to_have_text(f"Paused at step {paused['step']} of {paused['steps']}.")
    expect(page.locator("#train-step")).to_be_enabled()

    page.click("#train-step")
    expect(status).to_have_text(f"Paused at step {paused['step'] + 1} of {paused['steps']}.")
    stepped = on_server()
    assert (stepped["status"], stepped["step"]) == ("paused", paused["step"] + 1)

    page.click("#train-resume")
    expect(status).to_contain_text("Training: step")
    expect(page.locator("#train-pause")).to_be_enabled()
    assert on_server()["status"] == "running"

    page.click("#train-stop")
    expect(status).to_contain_text("Stopped by request at step")
    expect(page.locator("#train-start")).to_be_enabled()
    assert on_server()["status"] == "stopped"


def test_the_trace_waits_while_the_user_clicks_the_controls_then_shows_the_paused_weights(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=char_lm&tab=explore")
    page.click("#tab-train")
    page.fill("#train-steps", "5000")
    page.click("#train-start")
    expect(page.locator("#train-pause")).to_be_enabled()
    session = page.evaluate("window.rnnExplorer.session()")
    passes: list[float] = []  # when the page asked for a forward pass (its trace)
    page.on(
        "request",
        lambda r: (
            passes.append(time.monotonic()) if r.url.split("?")[0].endswith("/forward") else None
        ),
    )
    status = page.locator("#train-status")
    page.click("#train-pause")
    expect(status).to_contain_text("Paused at step")
    first = time.monotonic()
    step = SERVER.get(f"{live_server}/api/v1/training/{session}").json()["step"]
    for k in range(1, 6):  # a click every ~0.3 s: the controls never rest for a second
        time.sleep(0.3)
        page.click("#train-step")
        expect(status).to_have_text(f"Paused at step {step + k} of 5000.")
    last = time.monotonic()
    model_id = page.evaluate("window.rnnExplorer.model().id")
    saved = SERVER.get(f"{live_server}/api/v1/models/{model_id}").json()["weights_version"]
    # once they rest, the trace of the paused weights is fetched, and none in between
    page.wait_for_function(
        f"() => window.rnnExplorer.model().weights_version === {saved}", timeout=20_000
    )
    assert [t for t in passes if first < t < last + 0.9] == [], (first, last, passes)
    page.click("#train-stop")
    expect(status).to_contain_text("Stopped by request at step")


def test_weight_decay_and_a_schedule_from_the_form_reach_the_session(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=sine&tab=train")
    choices = SERVER.get(f"{live_server}/api/v1/choices").json()["training"]
    options = page.eval_on_selector_all("#schedule option", "o => o.map(e => e.value)")
    assert options == ["", *choices["schedule"]]
    optimisers = page.eval_on_selector_all("#optimizer option", "o => o.map(e => e.value)")
    assert optimisers == choices["optimizer"]
    expect(page.locator("#schedule-period")).to_be_hidden()  # a constant rate has no options
    page.select_option("#optimizer", "adamw")
    page.fill("#weight-decay", "0.05")
    page.select_option("#schedule", "cosine")
    expect(page.locator("label[for=schedule-period]")).to_have_text("T_max (updates)")
    page.fill("#schedule-period", "30")
    page.fill("#schedule-factor", "0.001")
    page.fill("#train-steps", "30")
    page.click("#train-start")
    page.wait_for_function("() => window.rnnExplorer.session() !== null", timeout=20_000)
    session = page.evaluate("window.rnnExplorer.session()")
    training = SERVER.get(f"{live_server}/api/v1/training/{session}").json()["training"]
    assert training["optimizer"] == "adamw" and training["weight_decay"] == 0.05
    assert training["schedule"] == {"name": "cosine", "t_max": 30, "eta_min": 0.001}
    # the link carries them, and a page opened from it shows them in its form
    query = page.evaluate("window.rnnExplorer.query()")
    assert "wd=0.05" in query and "sched=cosine%7E30%7E0.001" in query, query
    again = explorer(query.lstrip("?"))
    expect(again.locator("#weight-decay")).to_have_value("0.05")
    expect(again.locator("#schedule")).to_have_value("cosine")
    expect(again.locator("#schedule-period")).to_have_value("30")
    expect(again.locator("#schedule-factor")).to_have_value("0.001")
    again.select_option("#schedule", "")
    again.wait_for_function("() => !window.rnnExplorer.query().includes('sched=')")
