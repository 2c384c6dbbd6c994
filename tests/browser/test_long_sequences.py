"""A sequence of 1000 steps: every time chart of the Explore tab shows the unrolled diagram's
window of steps, the overview moves it, and a progress bar shows while the trace is computed."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import shot

TIME_CHARTS = ["view-heatmap", "view-outputs", "view-gradients", "view-gates", "view-connectivity"]
QUERY = "task=sine&p.mode=sequence&p.length=1000&cell=lstm&t=500"


def diagram_window(page: Page) -> tuple[int, int]:
    """The first and last step the unrolled diagram draws, from its nodes' data-t."""
    steps = page.eval_on_selector_all(
        "#view-unrolled [data-row='x'][data-t]", "nodes => nodes.map(n => Number(n.dataset.t))"
    )
    return min(steps), max(steps)


def assert_charts_show_the_window(page: Page) -> None:
    first, last = diagram_window(page)
    assert last - first + 1 < 100, f"the diagram shows {last - first + 1} steps of 1000"
    expected = [first - 0.5, last + 0.5]
    page.wait_for_function(
        """([ids, want]) => ids.every((id) => {
            const r = document.getElementById(id)._fullLayout?.xaxis?.range;
            return r && r[0] === want[0] && r[1] === want[1];
        })""",
        arg=[TIME_CHARTS, expected],
    )
    for chart in TIME_CHARTS:
        shown = page.evaluate("id => document.getElementById(id)._fullLayout.xaxis.range", chart)
        assert shown == expected, f"{chart} shows {shown}, the diagram {expected}"


def test_every_time_chart_follows_the_diagram_window(explorer: Callable[..., Page]) -> None:
    page = explorer(QUERY)
    assert page.evaluate("() => window.rnnExplorer.trace().T") == 1000
    page.wait_for_function(
        "() => document.getElementById('view-connectivity').dataset.connectivityT === '500'"
    )
    assert_charts_show_the_window(page)
    first, last = diagram_window(page)
    assert first <= 500 <= last
    # stepping past the window's edge slides it, and the charts with it
    for _ in range(last - 500 + 1):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("t => window.rnnExplorer.state.t === t", arg=last + 1)
    assert diagram_window(page)[1] > last
    assert_charts_show_the_window(page)
    # a click on the overview sets t there, and the window follows
    expect(page.locator("#overview-label")).to_have_text(
        "whole sequence — drag or click to move the window"
    )
    overview = page.locator("#view-overview")
    box = overview.bounding_box()
    assert box is not None
    xa = page.evaluate(
        "() => { const x = document.getElementById('view-overview')._fullLayout.xaxis;"
        " return {offset: x._offset, length: x._length}; }"
    )
    x_at = lambda step: box["x"] + xa["offset"] + xa["length"] * (step + 0.5) / 1000  # noqa: E731
    page.mouse.click(x_at(120), box["y"] + box["height"] / 2)
    page.wait_for_function("() => Math.abs(window.rnnExplorer.state.t - 120) <= 2")
    first, last = diagram_window(page)
    t = page.evaluate("() => window.rnnExplorer.state.t")
    assert first <= t <= last
    assert_charts_show_the_window(page)
    # a drag along the overview carries the window with it
    page.mouse.move(x_at(120), box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(x_at(500), box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(x_at(800), box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function("() => Math.abs(window.rnnExplorer.state.t - 800) <= 2")
    first, last = diagram_window(page)
    assert first <= page.evaluate("() => window.rnnExplorer.state.t") <= last
    assert_charts_show_the_window(page)
    # the heatmap shows the window's steps, not 1000 one-pixel columns
    shot(page, "long-sequence-window")


def test_a_progress_bar_shows_while_a_long_trace_is_computed(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=sine&p.mode=sequence&p.length=30&cell=lstm")
    progress = page.locator("#trace-progress")
    expect(progress).to_be_hidden()
    seen = page.evaluate_handle(
        """() => {
            const box = document.getElementById('trace-progress');
            const seen = [];
            const watched = {attributes: true, childList: true, subtree: true, characterData: true};
            new MutationObserver(() => {
                if (!box.hidden) seen.push(box.textContent.trim());
            }).observe(box, watched);
            return seen;
        }"""
    )
    previous = page.evaluate("() => document.body.dataset.traceReady")
    page.evaluate(
        "() => window.rnnExplorer.set({params: {...window.rnnExplorer.state.params, length: 1000}})"
    )
    page.click("#run")
    page.wait_for_function(
        "prev => document.body.dataset.traceReady !== prev", arg=previous, timeout=60_000
    )
    assert page.evaluate("() => window.rnnExplorer.trace().T") == 1000
    expect(progress).to_be_hidden()
    texts = seen.evaluate("s => s")
    assert any("Computing the forward and backward passes for 1000 steps" in s for s in texts), (
        texts
    )
