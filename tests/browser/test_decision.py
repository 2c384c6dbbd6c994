"""The spiral's decision boundary: the predicted class over the input plane is the server's
answer for those points, and it follows the weights when the model trains."""

from collections.abc import Callable

import numpy as np
from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, shot

SPIRAL = "task=spiral&preset=Spiral+(ReLU)"


def figure(page: Page) -> dict:
    return dict(
        page.evaluate(
            "() => { const d = document.getElementById('view-decision').data;"
            " return {x: d[0].x, y: d[0].y, z: d[0].z,"
            " points: d.slice(1, 4).map(t => t.x.length)}; }"
        )
    )


def server_classes(live_server: str, model_id: str, points: list[tuple[float, float]]) -> list:
    answer = SERVER.post(
        f"{live_server}/api/v1/models/{model_id}/forward",
        json={"inputs": [[[x, y]] for x, y in points]},
    ).json()
    return [int(np.argmax(row)) for row in answer["outputs"]]


def check_against_the_server(page: Page, live_server: str) -> dict:
    drawn = figure(page)
    model_id = page.evaluate("document.getElementById('view-decision').dataset.modelId")
    assert model_id == page.evaluate("window.rnnExplorer.model().id")
    side = len(drawn["x"])
    assert side == len(drawn["y"]) == len(drawn["z"]) == 32
    picks = [(0, 0), (31, 31), (5, 20), (16, 16), (27, 3), (10, 12), (22, 25)]
    points = [(drawn["x"][i], drawn["y"][j]) for i, j in picks]
    assert server_classes(live_server, model_id, points) == [drawn["z"][j][i] for i, j in picks]
    return drawn


def test_the_spirals_decision_view_draws_the_servers_classes_and_follows_training(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(SPIRAL)
    card = page.locator("article:has(#view-decision)")
    expect(card).to_be_visible()
    page.wait_for_function("() => document.getElementById('view-decision').data")
    before = check_against_the_server(page, live_server)
    assert sum(before["points"]) == 300  # the three arms of the task, 100 points each
    expect(page.locator("#decision-accuracy")).to_contain_text("300 points")
    version = page.evaluate("window.rnnExplorer.model().weights_version")
    page.click("#tab-train")
    page.fill("#train-steps", "200")
    page.click("#train-start")
    page.wait_for_function(
        "() => /Finished|Stopped/.test(document.getElementById('train-status').textContent)",
        timeout=60_000,
    )
    page.click("#tab-explore")
    # the view follows the trained weights: a newer weights version, a new boundary
    page.wait_for_function(
        "v => Number(document.getElementById('view-decision').dataset.weightsVersion) > v",
        arg=version,
        timeout=20_000,
    )
    page.wait_for_function(
        "() => Number(document.getElementById('view-decision').dataset.weightsVersion)"
        " === window.rnnExplorer.model().weights_version",
        timeout=20_000,
    )
    after = check_against_the_server(page, live_server)
    assert after["z"] != before["z"]
    shot(page, "decision-spiral", "article:has(#view-decision)")


def test_the_decision_view_is_only_there_for_the_spiral(explorer: Callable[..., Page]) -> None:
    page = explorer("task=sine")
    expect(page.locator("article:has(#view-decision)")).to_be_hidden()
