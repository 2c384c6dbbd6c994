"""The Train tab tells the truth: a short training in the real page, read back from the chart
and the status line, checked against the API's session and history."""

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, open_explorer, shot

ENDED = (
    "() => /Stopped early|Finished|Failed/"
    ".test(document.getElementById('train-status').textContent)"
)


def plotted(page: Page, element: str = "view-loss") -> dict[str, Any]:
    """The chart's traces (name, x, y, axis, mode) and its layout, as Plotly holds them."""
    return dict(
        page.evaluate(
            """id => {
              const el = document.getElementById(id);
              return {
                traces: el.data.map((t) => ({
                  name: t.name, x: Array.from(t.x), y: Array.from(t.y),
                  yaxis: t.yaxis ?? "y", mode: t.mode,
                })),
                layout: JSON.parse(JSON.stringify(el.layout)),
              };
            }""",
            element,
        )
    )


def api(live_server: str, path: str) -> Any:
    return SERVER.get(f"{live_server}/api/v1/{path}").json()


def test_a_short_training_plots_every_record_on_honest_axes_and_says_why_it_stopped(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=binary_addition&tab=train")
    page.fill("#train-steps", "600")
    page.click("#train-start")
    page.wait_for_function(ENDED, timeout=90_000)
    session_id = page.evaluate("window.rnnExplorer.session()")
    session = api(live_server, f"training/{session_id}")
    records = api(live_server, f"training/{session_id}/history")["records"]
    assert session["status"] == "early_stopped"
    # one report every max(1, ⌊600 / 50⌋) = 12 steps, the early stop's the last
    assert session["training"]["report_every"] == 12
    assert [r["step"] for r in records] == [12 * (k + 1) for k in range(len(records))]

    expect(page.locator("#train-status")).to_have_text(
        f"Stopped early because {session['reason']}."
    )
    assert session["reason"].startswith("validation accuracy reached 1 at step")

    chart = plotted(page)
    traces = {t["name"]: t for t in chart["traces"]}
    layout = chart["layout"]
    # every record is a point, with a marker, at the API's step and loss
    loss = traces["loss"]
    assert "markers" in loss["mode"]
    assert loss["x"] == [r["step"] for r in records]
    assert loss["y"] == [r["loss"] for r in records]
    assert "(log)" in layout["yaxis"]["title"]["text"] and layout["yaxis"]["type"] == "log"
    # the fractions on a fixed [0, 1] axis, each one's points the API's
    assert layout["yaxis2"]["range"] == [0, 1]
    fractions = {name for name, info in session["metrics"].items() if info["range"] == [0.0, 1.0]}
    on_axis = {name for name, t in traces.items() if t["yaxis"] == "y2"}
    assert on_axis == {name for name in records[-1]["metrics"] if name in fractions} | {
        name for name in records[-1]["metrics"] if name.removeprefix("train_") in fractions
    }
    assert {"accuracy", "bits_right"} <= on_axis
    for name in on_axis:
        assert traces[name]["y"] == [r["metrics"][name] for r in records], name
    # a dashed line at each chance level the API states, labelled with it
    chances = {session["metrics"][name.removeprefix("train_")]["chance"] for name in on_axis}
    lines = [s for s in layout["shapes"] if s.get("name") == "chance"]
    assert {s["y0"] for s in lines} == chances and all(s["yref"] == "y2" for s in lines)
    assert all(s["line"]["dash"] == "dash" for s in lines)
    labels = [a["text"] for a in layout["annotations"] if a.get("name") == "chance"]
    assert any(label.startswith("chance 0.5 ") for label in labels), labels
    assert 0.5 in chances and 0.5**8 in chances
    # the gradient chart: ‖∇θ L‖ at every record, and the last record's ‖dL/dH_t‖ over t alone
    grads = {t["name"]: t for t in plotted(page, "view-grad-history")["traces"]}
    assert grads["‖∇θ L‖"]["x"] == [r["step"] for r in records]
    assert grads["‖∇θ L‖"]["y"] == [r["grad_norm"] for r in records]
    latest = records[-1]["dH_norm"]
    assert grads["latest ‖dL/dH_t‖ over t"]["y"] == latest
    assert grads["latest ‖dL/dH_t‖ over t"]["x"] == list(range(len(latest)))
    shot(page, "training-truth", "#panel-train")


def test_a_long_run_reports_at_least_thirty_points(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=sine&tab=train")
    page.fill("#train-steps", "80")
    page.click("#train-start")
    page.wait_for_function(ENDED, timeout=90_000)
    session_id = page.evaluate("window.rnnExplorer.session()")
    session = api(live_server, f"training/{session_id}")
    records = api(live_server, f"training/{session_id}/history")["records"]
    assert len(records) >= 30
    assert plotted(page)["traces"][0]["x"] == [r["step"] for r in records]
    if session["status"] == "finished":
        assert session["reason"] == "finished all 80 steps"
        expect(page.locator("#train-status")).to_have_text("Finished all 80 steps.")


def test_step_adds_one_point_and_the_form_survives_a_reload(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=char_lm&tab=train")
    page.fill("#train-steps", "5000")
    page.click("#train-start")
    expect(page.locator("#train-pause")).to_be_enabled()
    status = page.locator("#train-status")
    expect(status).to_contain_text("Training: step", timeout=60_000)
    page.click("#train-pause")
    expect(status).to_contain_text("Paused at step")
    session_id = page.evaluate("window.rnnExplorer.session()")

    def history() -> list[dict[str, Any]]:
        return list(api(live_server, f"training/{session_id}/history")["records"])

    def points() -> int:
        return len(plotted(page)["traces"][0]["x"])

    before = history()
    page.wait_for_function(
        f"() => document.getElementById('view-loss').data[0].x.length === {len(before)}"
    )
    step = api(live_server, f"training/{session_id}")["step"]
    page.click("#train-step")
    expect(status).to_have_text(f"Paused at step {step + 1} of 5000.")
    page.wait_for_function(
        f"() => document.getElementById('view-loss').data[0].x.length === {len(before) + 1}"
    )
    after = history()
    assert len(after) == len(before) + 1 == points()
    assert after[-1]["step"] == step + 1
    assert plotted(page)["traces"][0]["x"][-1] == step + 1
    assert plotted(page)["traces"][0]["y"][-1] == after[-1]["loss"]
    page.click("#train-stop")
    expect(status).to_contain_text("Stopped by request at step")

    # the training form is in the link: a reload shows the same settings
    page.select_option("#optimizer", "sgd")
    page.fill("#lr", "0.003")
    page.fill("#train-steps", "123")
    page.fill("#batch-size", "7")
    page.fill("#clip", "0.5")
    page.locator("#clip").blur()
    page.wait_for_function("() => location.search.includes('clip=0.5')")
    query = page.evaluate("location.search")
    for key in ("opt=sgd", "lr=0.003", "steps=123", "batch=7", "clip=0.5"):
        assert key in query, query
    open_explorer(page, live_server, query.removeprefix("?"))
    assert page.input_value("#optimizer") == "sgd"
    assert page.input_value("#lr") == "0.003"
    assert page.input_value("#train-steps") == "123"
    assert page.input_value("#batch-size") == "7"
    assert page.input_value("#clip") == "0.5"
