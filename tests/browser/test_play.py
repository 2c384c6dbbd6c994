"""Playing a long sequence at 60 steps a second: once paused, every view shows the step the
page is on, with the values of the API's JSON trace (the page itself fetched the compact one and
derived the rest), including the views that were off screen and skipped while it played."""

from collections.abc import Callable

import numpy as np
from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER
from tests.browser.test_long_sequences import assert_charts_show_the_window, diagram_window

QUERY = "task=sine&p.mode=sequence&p.length=400&cell=lstm&hidden_size=16"


def _shown_number(text: str) -> float:
    """The number after the last ': ' of a node's hover title (the page's fmt: 3 decimals)."""
    return float(text.split(": ")[-1])


def test_play_then_pause_shows_the_step_with_the_api_values(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(QUERY)
    page.select_option("#speed", "60")
    page.click("#play")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("() => window.rnnExplorer.state.t >= 40")
    page.click("#play")
    expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
    state = page.evaluate("() => window.rnnExplorer.state")
    t, unit = state["t"], state["unit"]
    assert state["phase"] == "forward" and 40 <= t < 399
    expect(page.locator("#t-label")).to_contain_text(f"t = {t}")

    # the truth: the API's full JSON answer for the same model and inputs
    shown = page.evaluate(
        "() => { const tr = window.rnnExplorer.trace();"
        " return {model: tr.modelId, inputs: tr.inputs.map((r) => Array.from(r))}; }"
    )
    body = SERVER.post(
        f"{live_server}/api/v1/models/{shown['model']}/forward", json={"inputs": shown["inputs"]}
    ).json()
    layer = body["trace"]["layers"][0]
    H = np.array(layer["H"])

    # the diagram shows step t, and its H node says H_t[unit] as the API computed it
    first, last = diagram_window(page)
    assert first <= t <= last
    title = page.locator(f"#view-unrolled [data-row='h1'][data-t='{t}'] title")
    assert abs(_shown_number(str(title.text_content()).splitlines()[0]) - H[t, unit]) < 6e-4

    # every time chart shows the diagram's window again, the cursor at t
    assert_charts_show_the_window(page)
    for chart in ["view-heatmap", "view-outputs", "view-gates", "view-connectivity"]:
        where = page.evaluate(
            """(id) => {
              const el = document.getElementById(id);
              const xa = el._fullLayout.xaxis;
              const line = el.querySelector('.cursor-line');
              const moved = /translateX\\(([-\\d.]+)px\\)/.exec(line.style.transform);
              const t = window.rnnExplorer.state.t;
              return { at: Number(moved[1]) + 1, want: xa._offset + xa.l2p(t) };
            }""",
            chart,
        )
        assert abs(where["at"] - where["want"]) < 0.5, (chart, where)

    # the heatmap draws H, the gates view (off screen while playing) the API's gates of the unit
    z = np.array(page.evaluate("() => document.getElementById('view-heatmap').data[0].z"))
    assert np.allclose(z, H.T, rtol=0, atol=1e-12)
    drawn = page.evaluate(
        "() => Object.fromEntries(document.getElementById('view-gates').data"
        ".map((d) => [d.name, Array.from(d.y)]))"
    )
    names = {"input i": "i", "forget f": "f", "candidate g": "g", "output o": "o", "cell C": "C"}
    assert set(drawn) == set(names)
    for label, gate in names.items():
        truth = np.array(layer["gates"][gate])[:, unit]
        assert np.allclose(drawn[label], truth, rtol=0, atol=1e-9), label
