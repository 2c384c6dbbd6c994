"""What the browser tests share: waiting for a trace, screenshots, the axe-core check."""

import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"


def wait_for_new_trace(page: Page, previous: str | None) -> str:
    """Waits until the page shows a trace other than `previous`; returns its id."""
    page.wait_for_function(
        "prev => document.body.dataset.traceReady && document.body.dataset.traceReady !== prev",
        arg=previous or "",
    )
    return str(page.evaluate("document.body.dataset.traceReady"))


def shot(page: Page, name: str, selector: str | None = None) -> Path:
    """A PNG of the page (or of one element) in the artifacts and in docs/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))
    shutil.copyfile(path, README_SCREENSHOTS / f"{name}.png")
    return path


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the current page."""
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]
