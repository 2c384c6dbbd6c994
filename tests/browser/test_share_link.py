"""A share link in the real browser: its holder (another browser, another owner) opens the
sharer's model read-only, and the page's own link keeps the token; without it, the model is
not there for them."""

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from playwright.sync_api import Browser, Page

from tests.browser.helpers import SERVER, open_explorer


def test_a_share_link_opens_the_sharers_model_in_another_browser(
    explorer: Callable[..., Page], live_server: str, browser: Browser
) -> None:
    sharer = explorer()
    model_id = sharer.evaluate("window.rnnExplorer.model().id")
    weights = SERVER.get(f"{live_server}/api/v1/models/{model_id}/weights").content
    token = SERVER.post(f"{live_server}/api/v1/models/{model_id}/share").json()["token"]

    holder = browser.new_context().new_page()
    open_explorer(holder, live_server, urlencode({"model": model_id, "share": token}))
    assert holder.evaluate("window.rnnExplorer.model().id") == model_id
    assert "not on this server" not in holder.evaluate("window.rnnExplorer.state.status")
    # the page's link (rewritten as its state changes) carries the token on
    assert parse_qs(holder.evaluate("window.rnnExplorer.query()"))["share"] == [token]
    holder.wait_for_function("() => new URLSearchParams(location.search).has('share')")
    # the holder's page drew the sharer's model: the same weights, read over its own calls
    # (without the token they are a 404, as the stranger below sees)
    holder_weights = holder.evaluate(
        "async (id) => Array.from(new Uint8Array(await (await fetch("
        "`/api/v1/models/${id}/weights${location.search}`)).arrayBuffer()))",
        model_id,
    )
    assert bytes(holder_weights) == weights

    stranger = browser.new_context().new_page()
    open_explorer(stranger, live_server, urlencode({"model": model_id}))
    assert stranger.evaluate("window.rnnExplorer.model().id") != model_id
    assert "not on this server" in stranger.evaluate("window.rnnExplorer.state.status")
