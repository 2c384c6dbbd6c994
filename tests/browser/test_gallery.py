"""Every Explore view for each cell and pass, drawn and kept as the README's gallery.

The test opens binary addition with an rnn, an lstm and a gru, at a middle timestep, on the
forward and on the backward pass; every card that shows on the Explore tab must hold a drawn
figure (a Plotly plot or an SVG) or its text, and the whole tab is saved as
docs/screenshots/gallery-<cell>-<pass>.png.
"""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import shot

# The cards that draw a figure for every cell on this task (the text view is for characters only).
DRAWN = [
    "#view-unrolled",
    "#view-connectivity",
    "#view-heatmap",
    "#view-outputs",
    "#view-gradients",
    "#view-cell",
    "#view-weights",
]


@pytest.mark.parametrize("phase", ["forward", "backward"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_view_draws_for_each_cell_and_pass(
    explorer: Callable[..., Page], cell: str, phase: str
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=3&phase={phase}")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(300)
    # the connectivity strip draws once its own answer is in
    page.wait_for_function("() => document.querySelector('#view-connectivity .main-svg')")
    checked = "() => document.querySelector(\"input[name='phase']:checked\").value"
    assert page.evaluate(checked) == phase
    drawn = {
        selector: page.evaluate(
            "s => { const el = document.querySelector(s);"
            " return Boolean(el.querySelector('.js-plotly-plot .main-svg, svg')); }",
            selector,
        )
        for selector in DRAWN + (["#view-gates"] if cell != "rnn" else [])
    }
    assert all(drawn.values()), drawn
    assert page.locator("#view-equation .eq").count() > 0
    page.locator("#panel-explore").scroll_into_view_if_needed()
    path = shot(page, f"gallery-{cell}-{phase}", "#panel-explore")
    assert path.stat().st_size > 20_000  # a drawn page, not a blank one
