"""What the browser tests share: a live server, opening the page, waiting for a trace,
screenshots, the axe-core check."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Page

from app.settings import Settings
from tests.servers import live_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"

# The browser tests' own look at the server is the instructor's (RNN_EXPLORER_INSTRUCTOR_TOKEN):
# it sees the models and sessions every page made, each page being its own owner.
INSTRUCTOR_TOKEN = "browser-tests-instructor-token"
SERVER = httpx2.Client(headers={"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}, timeout=60)


@contextmanager
def serve(**settings: Any) -> Iterator[str]:
    """The app with these settings on http://127.0.0.1:<free port>, a throw-away data directory."""
    data_dir = Path(tempfile.mkdtemp(prefix="rnn-explorer-browser-"))
    try:
        with live_server(
            Settings(data_dir=data_dir, **{"instructor_token": INSTRUCTOR_TOKEN, **settings})
        ) as server:
            yield server.url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def open_explorer(page: Page, base_url: str, query: str = "") -> Page:
    """Opens the explorer of the server at `base_url` and waits until its first trace is drawn."""
    page.goto(f"{base_url}/{'?' + query if query else ''}")
    page.wait_for_selector("body[data-ready='true']")
    return page


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


def run_axe(page: Page, every_impact: bool = False) -> list[dict[str, Any]]:
    """axe-core's violations on the current page: of impact serious or critical, or all of them."""
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [v for v in result if every_impact or v["impact"] in ("serious", "critical")]


def small_figure_text(page: Page, panel: str) -> list[tuple[str, float]]:
    """Visible text in the panel's figures set under 12 px: (text, size) pairs."""
    return list(
        page.evaluate(
            """(panel) => [...document.querySelectorAll(
                   `${panel} .plot svg text, ${panel} .js-plotly-plot svg text`)]
                 .filter(e => e.getBoundingClientRect().width > 0 && e.textContent.trim())
                 .map(e => [e.textContent, parseFloat(getComputedStyle(e).fontSize)])
                 .filter(([, size]) => size < 12)""",
            panel,
        )
    )
