"""axe-core on every tab, for each cell and pass, at a desktop, a projector and a phone size.

Every violation counts, whatever its impact: a learner on a screen reader or with a low-vision
setting meets the minor ones too.
"""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import run_axe

VIEWPORTS = [(1440, 900), (1024, 768), (390, 844)]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=lambda v: str(v))
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_no_accessibility_violations_at_any_screen_size(
    explorer: Callable[..., Page], cell: str, width: int, height: int
) -> None:
    page = explorer(f"task=binary_addition&cell={cell}&t=3")
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(300)  # the resize redraw
    found = {"explore forward": run_axe(page, every_impact=True)}
    page.check("input[name='phase'][value='backward']", force=True)
    page.wait_for_function("() => document.body.dataset.traceReady")
    found["explore backward"] = run_axe(page, every_impact=True)
    for tab in ("train", "compare"):
        page.click(f"#tab-{tab}")
        found[tab] = run_axe(page, every_impact=True)
    problems = {where: found[where] for where in found if found[where]}
    assert problems == {}, problems
