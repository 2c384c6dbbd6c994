"""Every encoding on the Explore tab is labelled and honest: colour bars with titles that follow
the pass, the heatmap's numbers are the API's, veils hide what is not computed yet, one step label
everywhere, the page's own checks behind a toggle, and no figure text under 12 px."""

import base64
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, shot

CELLS = ["rnn", "lstm", "gru"]


def backward_of_page(page: Page, live_server: str) -> dict[str, Any]:
    """The API's backward pass of the model and sample on show."""
    model_id = page.evaluate("window.rnnExplorer.model().id")
    trace = page.evaluate(
        "() => { const t = window.rnnExplorer.trace();"
        " return {inputs: t.inputs, targets: t.targets}; }"
    )
    response = SERVER.post(f"{live_server}/api/v1/models/{model_id}/backward", json=trace)
    assert response.status_code == 200, response.text
    return dict(response.json())


def pixels(page: Page, selector: str) -> np.ndarray:
    """The RGB pixels of an element's screenshot, (rows, cols, 3), decoded by the page's canvas."""
    png = base64.b64encode(page.locator(selector).screenshot()).decode()
    rgba = page.evaluate(
        """async (data) => {
          const image = new Image();
          image.src = `data:image/png;base64,${data}`;
          await image.decode();
          const canvas = document.createElement("canvas");
          canvas.width = image.width;
          canvas.height = image.height;
          const context = canvas.getContext("2d");
          context.drawImage(image, 0, 0);
          const d = context.getImageData(0, 0, image.width, image.height);
          return {w: d.width, h: d.height, data: Array.from(d.data)};
        }""",
        png,
    )
    array = np.array(rgba["data"], dtype=float).reshape(rgba["h"], rgba["w"], 4)
    return array[:, :, :3]


def heatmap_colourbar_title(page: Page) -> str:
    # Plotly separates the parts around a subscript with zero-width spaces
    return str(page.locator("#view-heatmap .colorbar .cbtitle").text_content()).replace(
        "\u200b", ""
    )


@pytest.mark.parametrize("cell", CELLS)
def test_heatmap_names_and_shows_the_apis_dL_dH_on_the_backward_pass(
    explorer: Callable[..., Page], live_server: str, cell: str
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=3")
    expect(page.locator("#h-heatmap")).to_have_text("Hidden state Ht")
    assert heatmap_colourbar_title(page).startswith("Ht[unit]")
    page.keyboard.press("b")
    expect(page.locator("#h-heatmap")).to_contain_text("dL/dH")
    expect(page.locator("#view-heatmap .colorbar .cbtitle")).to_contain_text("dL/dH")
    assert "dL/dH" in page.evaluate("document.getElementById('view-heatmap').data[0].hovertemplate")
    z = np.array(page.evaluate("document.getElementById('view-heatmap').data[0].z"))
    dH = np.array(backward_of_page(page, live_server)["trace"]["layers"][0]["dH"])
    assert z.shape == dH.T.shape
    np.testing.assert_allclose(z, dH.T, rtol=0, atol=1e-12)
    page.keyboard.press("b")
    expect(page.locator("#h-heatmap")).to_have_text("Hidden state Ht")
    shot(page, f"encodings-heatmap-{cell}", "#view-heatmap")


@pytest.mark.parametrize("cell", CELLS)
def test_every_explore_view_has_a_titled_colour_bar_or_legend_that_follows_the_pass(
    explorer: Callable[..., Page], cell: str
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=3&unit=1")
    unrolled_title = page.locator("#view-unrolled .colour-bar-title")
    expect(unrolled_title).to_have_text("H_t[unit 1]")
    expect(page.locator("#view-unrolled .colour-bar")).to_have_attribute("data-scale", "diverging")
    ticks = page.eval_on_selector_all(
        "#view-unrolled .colour-bar-tick", "n => n.map(e => Number(e.textContent))"
    )
    hidden_max = page.evaluate("window.rnnExplorer.trace().hiddenMax[0]")
    assert ticks == pytest.approx([-hidden_max, 0, hidden_max], abs=0.006)
    # the weights card: a titled colour bar for the matrix and one for its gradient
    titles = page.eval_on_selector_all(
        "#view-weights .colorbar .cbtitle", "n => n.map(e => e.textContent)"
    )
    assert titles == ["W_hh", "dL/dW_hh"]
    # the line charts name their lines
    assert page.locator("#view-outputs .legend .traces").count() >= 2
    assert "‖dL/dH_t‖" in str(page.locator("#gradient-radius").text_content())
    if cell != "rnn":
        assert page.locator("#view-gates .legend .traces").count() >= 3
    page.keyboard.press("b")
    expect(unrolled_title).to_have_text("‖dL/dH_t‖ (log)")
    expect(page.locator("#view-unrolled .colour-bar")).to_have_attribute("data-scale", "sequential")
    expect(page.locator("#view-unrolled .unrolled-legend")).to_contain_text("‖dL/dO_t‖")
    shot(page, f"encodings-unrolled-backward-{cell}", "#view-unrolled")


def test_the_weights_colour_bars_do_not_cover_the_gradient_panel(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&t=3")
    overlaps = page.evaluate(
        """() => {
          const el = document.getElementById("view-weights");
          const rect = (e) => e.getBoundingClientRect();
          const bars = [...el.querySelectorAll(".colorbar")].map(rect);
          const panels = [...el.querySelectorAll(".nsewdrag")].map(rect);
          const meet = (a, b) => a.left < b.right && b.left < a.right
            && a.top < b.bottom && b.top < a.bottom;
          return {bars: bars.length, panels: panels.length,
                  overlaps: bars.flatMap((bar, i) =>
                    panels.filter(p => meet(bar, p)).map(() => i))};
        }"""
    )
    assert overlaps["bars"] == 2 and overlaps["panels"] == 2
    assert overlaps["overlaps"] == []
    shot(page, "encodings-weights", "#view-weights")


def test_the_veil_hides_the_steps_not_computed_yet_on_each_pass(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=sine&p.mode=sequence&p.length=30&t=4")
    veil = page.locator("#view-unrolled .unrolled-veil rect")
    assert veil.evaluate("e => getComputedStyle(e).fill").startswith("url(")
    assert float(veil.evaluate("e => getComputedStyle(e).opacity")) == 1
    expect(page.locator("#view-unrolled .veil-label")).to_have_text("not computed yet")
    # a hidden node after t on the forward pass: under the veil only white and the grey hatch
    later = page.locator("#view-unrolled circle.node[data-t='7']")
    assert later.count() == 1
    box = later.bounding_box()
    assert box is not None
    page.evaluate(
        "([x, y]) => { const d = document.createElement('div'); d.id = 'probe';"
        " Object.assign(d.style, {position: 'absolute', left: x + 'px', top: y + 'px',"
        " width: '20px', height: '20px', pointerEvents: 'none'}); document.body.append(d); }",
        [
            box["x"] + box["width"] / 2 - 10 + page.evaluate("scrollX"),
            box["y"] + box["height"] / 2 - 10 + page.evaluate("scrollY"),
        ],
    )
    rgb = pixels(page, "#probe")
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    assert chroma.max() < 12, "a value colour shows through the veil"
    # only the card's white, the hatch and the grey "not computed yet" label
    assert np.median(rgb) > 200
    # the node at t itself is not veiled: its value colour shows
    assert later.get_attribute("fill") is not None
    # the Plotly time charts: an opaque veil after t with its label
    outputs_veil = page.locator("#view-outputs .cursor-veil")
    expect(outputs_veil).to_be_visible()
    colour = outputs_veil.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(255, 255, 255)"
    expect(outputs_veil).to_contain_text("not computed yet")
    shot(page, "encodings-veil-forward", "#view-unrolled")
    # backward: the veil covers the steps before t, which the gradient has not reached
    page.keyboard.press("b")
    page.evaluate("window.rnnExplorer.set({t: 20})")
    x = float(veil.get_attribute("x") or 0)
    width = float(veil.get_attribute("width") or 0)
    node = page.locator("#view-unrolled circle.node[data-t='20']")
    cx = float(node.get_attribute("cx") or 0)
    assert x + width < cx
    expect(page.locator("#view-gradients .cursor-veil")).to_be_visible()
    shot(page, "encodings-veil-backward", "#view-unrolled")


@pytest.mark.parametrize("phase", ["forward", "backward"])
def test_the_step_label_is_the_same_in_transport_equation_and_diagram(
    explorer: Callable[..., Page], phase: str
) -> None:
    page = explorer(f"task=binary_addition&t=3&phase={phase}")
    T = page.evaluate("window.rnnExplorer.trace().T")
    label = f"t = 3 of 0…{T - 1}"
    expect(page.locator("#t-label")).to_have_text(label)
    expect(page.locator("#view-equation .step-label")).to_have_text(label)
    expect(page.locator("#view-unrolled .unrolled-caption")).to_contain_text(label)
    page.keyboard.press("ArrowRight")
    label = f"t = 4 of 0…{T - 1}"
    expect(page.locator("#t-label")).to_have_text(label)
    expect(page.locator("#view-equation .step-label")).to_have_text(label)
    expect(page.locator("#view-unrolled .unrolled-caption")).to_contain_text(label)


@pytest.mark.parametrize("phase", ["forward", "backward"])
def test_check_the_numbers_lines_are_hidden_until_the_toggle(
    explorer: Callable[..., Page], phase: str
) -> None:
    page = explorer(f"task=binary_addition&t=3&phase={phase}")
    toggle = page.locator("#check-toggle")
    check = page.locator("#view-equation .number-check")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(check).to_be_hidden()
    assert "recomputed" not in str(page.locator("#view-equation").inner_text())
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(check).to_be_visible()
    expect(check).not_to_be_empty()
    page.wait_for_function("() => new URLSearchParams(location.search).get('check') === 'true'")
    toggle.click()
    expect(check).to_be_hidden()


def test_a_link_with_check_opens_with_the_checks_shown(explorer: Callable[..., Page]) -> None:
    page = explorer("task=binary_addition&t=3&phase=backward&check=true")
    expect(page.locator("#check-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#view-equation .number-check")).to_contain_text("recomputed")


@pytest.mark.parametrize("cell", CELLS)
def test_no_text_in_the_figures_is_under_12_px(explorer: Callable[..., Page], cell: str) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=3")
    for phase in ["forward", "backward"]:
        if phase == "backward":
            page.keyboard.press("b")
        page.wait_for_function(f"() => window.rnnExplorer.state.phase === '{phase}'")
        small = page.evaluate(
            """() => [...document.querySelectorAll("#panel-explore .plot svg text")]
                 .filter(e => e.getBoundingClientRect().width > 0 && e.textContent.trim())
                 .map(e => [e.textContent, parseFloat(getComputedStyle(e).fontSize)])
                 .filter(([, size]) => size < 12)"""
        )
        assert small == [], small


def test_the_pseudo_code_shows_every_line_whole(explorer: Callable[..., Page]) -> None:
    page = explorer("task=binary_addition&cell=gru&t=3")
    clipped = page.eval_on_selector_all(
        "#view-equation .code span",
        "spans => spans.filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.textContent)",
    )
    assert clipped == []


@pytest.mark.parametrize("weight", ["W_hh", "W_xh", "W_hq"])
def test_pointing_at_one_copy_of_a_matrix_lights_every_copy_and_the_weights_card(
    explorer: Callable[..., Page], weight: str
) -> None:
    page = explorer("task=sine&p.mode=sequence&p.length=30&t=10&weight=W_xh")
    arrows = page.locator(f"#view-unrolled line.arrow[data-weight='{weight}']")
    count = arrows.count()
    assert count >= 5
    # every copy is drawn alike: one colour, one width
    looks = arrows.evaluate_all(
        "lines => lines.map(l => {"
        " const s = getComputedStyle(l); return s.stroke + s.strokeWidth; })"
    )
    assert len(set(looks)) == 1
    page.locator(f"#view-unrolled .edge-label[data-weight='{weight}']").nth(2).hover()
    expect(
        page.locator(f"#view-unrolled line.arrow.shared-lit[data-weight='{weight}']")
    ).to_have_count(count)
    assert page.locator("#view-unrolled line.arrow.shared-lit").count() == count
    page.wait_for_function(f"() => window.rnnExplorer.state.weight === '{weight}'")
    expect(page.locator("#view-weights")).to_have_class(re.compile(r"\bshared-lit\b"))
    expect(page.locator(".shared-note")).to_have_text(f"The one {weight} used at every step")
    annotation = page.locator("#view-weights .annotation-text").first
    expect(annotation).to_contain_text(weight)
    shot(page, f"encodings-shared-{weight}")
    page.mouse.move(2, 2)
    expect(page.locator("#view-unrolled .shared-lit")).to_have_count(0)
    expect(page.locator("#view-weights")).not_to_have_class(re.compile(r"\bshared-lit\b"))
    # from the keyboard: the matrix's one focusable name lights the same copies
    names = page.locator(f"#view-unrolled .edge-label[data-weight='{weight}'][tabindex='0']")
    expect(names).to_have_count(1)
    names.focus()
    expect(
        page.locator(f"#view-unrolled line.arrow.shared-lit[data-weight='{weight}']")
    ).to_have_count(count)
    expect(page.locator("#view-weights")).to_have_class(re.compile(r"\bshared-lit\b"))
    page.keyboard.press("Shift+Tab")
    expect(
        page.locator(f"#view-unrolled line.arrow.shared-lit[data-weight='{weight}']")
    ).to_have_count(0)


def test_bit_targets_are_drawn_as_points_and_sine_targets_as_a_line(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&t=3")
    traces = page.evaluate("document.getElementById('view-outputs').data")
    targets = [d for d in traces if str(d["name"]).startswith("target")]
    assert targets
    bits = page.evaluate("window.rnnExplorer.trace().targets")
    assert {v for row in bits for v in (row if isinstance(row, list) else [row])} <= {0, 1}
    for target in targets:
        assert target["mode"] == "markers" or target.get("line", {}).get("shape") == "hv"
    page = explorer("task=sine&p.mode=sequence&p.length=30")
    traces = page.evaluate("document.getElementById('view-outputs').data")
    assert [d["mode"] for d in traces if d["name"] == "target"] == ["lines"]
