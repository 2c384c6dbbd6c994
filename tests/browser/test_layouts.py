"""The page at the screens it is read on: a laptop (1440×900), a projector (1280×720, 1024×768),
a tablet (820×1180) and a phone (390×844). Each test sizes the browser window as the reader's
screen, opens the explorer and looks at what the reader would see: measured boxes and computed
font sizes in the real Chromium. The screenshots land in docs/screenshots/layout-<w>x<h>.png.
"""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import open_explorer, shot

SCREENS = [(1440, 900), (1280, 720), (1024, 768), (820, 1180), (390, 844)]
PROJECTOR_SCREENS = [(1280, 720), (1024, 768)]
TOUCH_SCREENS = [(820, 1180), (390, 844)]

ALLOWED_MODE_BAR = {"Download plot as a PNG", "Reset axes"}
# The controls of the transport bar, the header and the cards (their type size is measured).
CONTROLS = (
    ".transport button, .transport select, .transport input, .transport .segmented label,"
    " .topbar button, .topbar .header-button, .card button, .card select"
)

# The box of an element, in viewport pixels.
BOX = """(e) => { const r = e.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          width: r.width, height: r.height}; }"""

# Every piece of text drawn in an SVG figure of the Explore tab (the diagram, the cell and the
# Plotly charts) with its size on screen: the computed font size times the scale of the SVG's
# user space on the screen (a viewBox or a zoom draws it larger or smaller).
FIGURE_TEXT = """() => [...document.querySelectorAll('#panel-explore svg text')]
  .filter((t) => t.textContent.trim() && t.getBoundingClientRect().width > 0)
  .map((t) => {
    const m = t.getScreenCTM();
    const size = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    const figure = t.closest('[id^="view-"]');
    return {text: t.textContent.trim().slice(0, 30), figure: figure ? figure.id : '?', size};
  })"""


def open_at(page: Page, base_url: str, size: tuple[int, int], query: str = "") -> Page:
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    open_explorer(page, base_url, query)
    page.wait_for_function(
        "() => document.querySelectorAll('#panel-explore .js-plotly-plot').length > 3"
    )
    return page


def box(page: Page, selector: str) -> dict[str, float]:
    result: dict[str, float] = page.locator(selector).evaluate(BOX)
    return result


def is_projector(page: Page) -> bool:
    return bool(page.evaluate("() => document.documentElement.classList.contains('projector')"))


def small_figure_text(page: Page) -> list[dict[str, Any]]:
    texts: list[dict[str, Any]] = page.evaluate(FIGURE_TEXT)
    assert len(texts) > 50, f"only {len(texts)} texts in the figures: are they drawn?"
    return [t for t in texts if t["size"] < 15.9]


def small_controls(page: Page, minimum: float) -> list[tuple[str, float]]:
    sizes = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
          .filter((e) => e.offsetParent && e.type !== 'radio')
          .filter((e) => !e.classList.contains('modebar-btn'))
          .map((e) => [e.id || e.textContent.trim().slice(0, 20),
                       parseFloat(getComputedStyle(e).fontSize)])""",
        CONTROLS,
    )
    assert sizes, "no controls found"
    return [(name, size) for name, size in sizes if size < minimum]


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_sideways_scrolling_and_the_transport_bar_stays_in_sight(
    page: Page, live_server: str, size: tuple[int, int]
) -> None:
    open_at(page, live_server, size)
    width, height = size
    shot(page, f"layout-{width}x{height}")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert page.evaluate("() => innerWidth") == width

    # the views scroll under the bar: in the middle of the page and at its foot it is on screen
    page_height = page.evaluate("() => document.documentElement.scrollHeight")
    assert page_height > height * 1.3, "the page fits its screen: nothing to scroll"
    for fraction in (0.5, 1.0):
        page.evaluate("(y) => window.scrollTo(0, y)", int(page_height * fraction))
        scrolled = page.evaluate("() => scrollY")
        assert scrolled > height * 0.2
        bar = box(page, ".transport")
        assert bar["top"] >= 0 and bar["bottom"] <= height, f"bar at {bar}, scrolled {scrolled}"
        assert bar["left"] >= 0 and bar["right"] <= width
        assert box(page, "#play")["bottom"] <= height
    # and Play, on screen, plays
    page.locator("#play").click()
    page.wait_for_function("() => window.rnnExplorer.state.playing === true")
    page.locator("#play").click()
    page.wait_for_function("() => window.rnnExplorer.state.playing === false")

    # the Train and Compare tabs fit the screen too
    page.evaluate("() => window.scrollTo(0, 0)")
    for tab, drawn in (("train", "#view-training .js-plotly-plot"), ("compare", "#view-compare *")):
        page.locator(f"#tab-{tab}").click()
        page.wait_for_selector(f"#panel-{tab}:not([hidden]) {drawn}")
        # (a chart drawn while its tab was hidden takes Plotly's 700 px until it is resized to
        # its card, a moment later: the layout fits once it has)
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= innerWidth", timeout=5_000
        )


def test_at_1440x900_the_diagram_the_equation_and_another_view_are_above_the_fold(
    page: Page, live_server: str
) -> None:
    open_at(page, live_server, (1440, 900))
    # the fold: the top of the docked transport bar (what is under it is not seen)
    fold = box(page, ".transport-dock")["top"]
    assert 700 < fold < 900
    seen = page.evaluate(
        """(fold) => [...document.querySelectorAll('#panel-explore > .card')]
          .filter((card) => card.offsetParent)
          .filter((card) => { const r = card.getBoundingClientRect();
            return r.bottom > 0 && r.top < fold - 40; })
          .map((card) => card.getAttribute('aria-labelledby'))""",
        fold,
    )
    assert "h-unrolled" in seen and "h-equation" in seen, seen
    assert len(set(seen) - {"h-unrolled", "h-equation"}) >= 1, seen
    assert not is_projector(page)


@pytest.mark.parametrize("size", PROJECTOR_SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_projector_screen_gets_large_type_and_one_view_a_row(
    page: Page, live_server: str, size: tuple[int, int]
) -> None:
    open_at(page, live_server, size)
    assert is_projector(page)
    assert page.locator("#projector-toggle").get_attribute("aria-pressed") == "true"
    small = small_figure_text(page)
    assert not small, f"figure text under 16 px: {small[:8]}"
    assert not small_controls(page, 18), small_controls(page, 18)[:8]
    # one view a row, the diagram first and the equation second
    diagram, equation = box(page, "#view-unrolled"), box(page, "#view-equation")
    assert equation["top"] >= diagram["bottom"]
    lefts = page.evaluate(
        "() => [...document.querySelectorAll('#panel-explore > .card')]"
        ".filter((c) => c.offsetParent).map((c) => Math.round(c.getBoundingClientRect().left))"
    )
    assert len(set(lefts)) == 1, lefts
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size[0]

    # a gated cell's bigger drawings too (the LSTM's cell card and gates)
    open_at(page, live_server, size, "cell=lstm")
    assert is_projector(page)
    small = small_figure_text(page)
    assert not small, f"LSTM figure text under 16 px: {small[:8]}"

    # the link can turn it off on the same screen
    open_at(page, live_server, size, "projector=0")
    assert not is_projector(page)
    assert small_figure_text(page), "the ordinary layout's small print"


def test_the_projector_button_and_link_turn_large_type_on_and_off(
    page: Page, live_server: str
) -> None:
    open_at(page, live_server, (1440, 900))
    assert not is_projector(page)
    assert small_figure_text(page), "the laptop layout keeps its 12 px figure text"

    page.locator("#projector-toggle").click()
    page.wait_for_function("() => document.documentElement.classList.contains('projector')")
    page.wait_for_function("() => new URLSearchParams(location.search).get('projector') === '1'")
    assert page.locator("#projector-toggle").get_attribute("aria-pressed") == "true"
    # the charts are re-laid in large type (Plotly draws after the click's frame)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#view-heatmap svg text')]"
        ".every((t) => !t.textContent.trim() || parseFloat(getComputedStyle(t).fontSize) >= 16)"
    )
    small = small_figure_text(page)
    assert not small, f"figure text under 16 px: {small[:8]}"
    assert not small_controls(page, 18)

    # the link carries it: a page opened from it is in projector mode
    link = page.url
    page.goto(link)
    page.wait_for_selector("body[data-ready='true']")
    assert is_projector(page)

    page.locator("#projector-toggle").click()
    page.wait_for_function("() => !document.documentElement.classList.contains('projector')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#view-heatmap svg text')]"
        ".some((t) => t.textContent.trim() && parseFloat(getComputedStyle(t).fontSize) < 16)"
    )
    page.wait_for_function("() => new URLSearchParams(location.search).get('projector') === '0'")


@pytest.mark.parametrize("size", TOUCH_SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_on_a_tablet_or_phone_every_button_is_a_44px_target_and_no_mode_bar_covers_a_chart(
    page: Page, live_server: str, size: tuple[int, int]
) -> None:
    open_at(page, live_server, size)
    buttons = page.evaluate(
        """() => [...document.querySelectorAll('button, a.header-button, .segmented label')]
          .filter((b) => b.offsetParent && getComputedStyle(b).visibility !== 'hidden')
          .map((b) => { const r = b.getBoundingClientRect();
            const name = b.id || b.getAttribute('aria-label') || b.textContent.trim().slice(0, 20);
            return {name, width: r.width, height: r.height}; })"""
    )
    names = {b["name"] for b in buttons}
    assert {"play", "help-open", "step-back", "step-forward", "projector-toggle"} <= names
    small = [b for b in buttons if b["width"] < 44 or b["height"] < 44]
    assert not small, small

    # the reader touches a chart: no mode bar appears over it
    plots = page.locator("#panel-explore .js-plotly-plot")
    assert plots.count() > 3
    for k in range(plots.count()):
        plot = plots.nth(k)
        if not plot.is_visible():
            continue
        plot.scroll_into_view_if_needed()
        plot.hover()
        shown = plot.evaluate(
            "(p) => [...p.querySelectorAll('.modebar')]"
            ".filter((m) => m.getBoundingClientRect().width > 0"
            " && getComputedStyle(m).opacity !== '0').length"
        )
        assert shown == 0, f"a mode bar over {plot.get_attribute('id')}"


def test_every_chart_offers_only_png_and_reset_and_no_cloud(
    page: Page, live_server: str, tmp_path: Path
) -> None:
    open_at(page, live_server, (1440, 900))
    plots = page.locator("#panel-explore .js-plotly-plot")
    count = plots.count()
    assert count > 3
    for k in range(count):
        plot = plots.nth(k)
        if not plot.is_visible():
            continue
        plot.scroll_into_view_if_needed()
        plot.hover()
        buttons = plot.evaluate(
            "(p) => [...p.querySelectorAll('.modebar-btn')].map((b) => ({title: b.dataset.title,"
            " attr: b.dataset.attr || '', val: b.dataset.val || ''}))"
        )
        titles = {b["title"] for b in buttons}
        assert titles == ALLOWED_MODE_BAR, f"{plot.get_attribute('id')}: {buttons}"
        assert all(b["attr"] in ("", "zoom") for b in buttons), buttons
        assert plot.locator(".modebar-btn--logo, a[href*='plotly']").count() == 0
    cloud = "[data-title*='Share'], [data-title*='Cloud'], [data-title*='cloud']"
    assert page.locator(cloud).count() == 0

    # the PNG button gives a PNG of the chart
    heatmap = page.locator("#view-heatmap")
    heatmap.scroll_into_view_if_needed()
    heatmap.hover()
    with page.expect_download() as download:
        heatmap.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    path = tmp_path / "chart.png"
    download.value.save_as(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def focused(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "() => { const e = document.activeElement; const chart = e.closest('.js-plotly-plot');"
        " return {id: e.id, tag: e.tagName, chart: chart ? chart.id : null,"
        " key: e.id || e.outerHTML.slice(0, 80)}; }"
    )
    return result


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_play_is_within_five_tab_stops_and_a_chart_is_one_stop(
    page: Page, live_server: str, size: tuple[int, int]
) -> None:
    open_at(page, live_server, size)
    presses = 0
    while focused(page)["id"] != "play":
        assert presses < 5, f"Play not reached in 5 Tab presses (at {focused(page)['key']})"
        page.keyboard.press("Tab")
        presses += 1
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.rnnExplorer.state.playing === true")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.rnnExplorer.state.playing === false")

    # once round the whole tab order: each chart holds at most one stop
    stops: list[dict[str, Any]] = []
    for _ in range(400):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["id"] == "play":
            break
        stops.append(now)
    else:
        pytest.fail("the tab order did not come back to Play in 400 presses")
    per_chart = Counter(stop["chart"] for stop in stops if stop["chart"])
    if size[0] > 900:
        assert per_chart, "no chart in the tab order: its PNG button is one stop"
    # (on a phone the mode bar is hidden: a chart is no stop at all)
    assert all(count == 1 for count in per_chart.values()), per_chart
