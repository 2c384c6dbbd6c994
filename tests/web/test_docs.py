"""The API reference renders in a real browser under the site's Content-Security-Policy."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.servers import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("docs") / "data") as live:
        yield live


def test_swagger_ui_lists_the_api_without_a_csp_violation(page: Page, server: LiveServer) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    remote: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(server.base_url) else remote.append(request.url)
        ),
    )
    page.goto(f"{server.base_url}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/health")).to_be_visible(
        timeout=15000
    )
    expect(page.locator(".opblock-summary-path", has_text="/forward").first).to_be_visible()
    assert page.locator(".opblock").count() >= 8
    assert problems == []
    assert remote == []
