"""A live server and a real Chromium for the end-to-end tests of the explorer page.

The app runs in-process under uvicorn on a free port with a temporary data directory. Chromium
is Debian's (`/usr/bin/chromium`, or `$CHROMIUM_PATH`); when it is missing and apt is available
it is installed first, otherwise Playwright's own browser is used. Every page fails its test on
an uncaught error or a console error.

Run: `pytest tests/browser` (or `pytest -m browser`); screenshots of the main views land in
test-artifacts/browser/ and docs/screenshots/ (the README's).
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.browser.helpers import open_explorer, serve

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


def _chromium() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(path).exists():
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=False, capture_output=True)
        if Path("/usr/bin/chromium").exists():
            return "/usr/bin/chromium"
    return None  # Playwright's own browser (`playwright install chromium`)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    args = {**browser_type_launch_args, "args": CHROMIUM_FLAGS}
    executable = _chromium()
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "accept_downloads": True,
    }


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The app with its default settings."""
    with serve() as url:
        yield url


@pytest.fixture
def allowed_console_errors() -> list[str]:
    """Texts of console errors a test expects (a refused request it provokes on purpose)."""
    return []


@pytest.fixture
def page(page: Page, allowed_console_errors: list[str]) -> Iterator[Page]:
    """Playwright's page, failing the test on any page error or unexpected console error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "") if message.location else ""
        if any(text in message.text for text in allowed_console_errors):
            return
        problems.append(f"console error: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.set_default_timeout(20_000)
    yield page
    assert not problems, "\n".join(problems)


@pytest.fixture
def explorer(page: Page, live_server: str) -> Callable[..., Page]:
    """Opens the explorer with a query string and waits until its first trace is drawn."""

    def open_page(query: str = "") -> Page:
        return open_explorer(page, live_server, query)

    return open_page
