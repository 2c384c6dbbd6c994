"""Truncated BPTT on the gradient-flow chart: the page asks the server's backward pass for the
training's BPTT length k and marks every cut, so the drop there reads as a cut, not a vanishing."""

from collections.abc import Callable

import numpy as np
from playwright.sync_api import Page

from tests.browser.helpers import SERVER, shot


def test_the_gradient_chart_marks_each_bptt_cut_of_the_training_truncation(
    explorer: Callable[..., Page], live_server: str
) -> None:
    k = 4
    page = explorer(f"task=sine&p=length:14&truncate={k}")
    page.wait_for_function("() => window.rnnExplorer.trace()?.hasBackward")
    trace = page.evaluate(
        "(() => { const t = window.rnnExplorer.trace();"
        " return { id: t.modelId, T: t.T, inputs: t.inputs, targets: t.targets }; })()"
    )
    chart = page.evaluate(
        """() => {
          const el = document.getElementById('view-gradients');
          const line = el.data.find((t) => t.name === '‖dL/dH_t‖');
          return { y: Array.from(line.y), layout: JSON.parse(JSON.stringify(el.layout)) };
        }"""
    )
    T = trace["T"]
    cuts = [s for s in chart["layout"]["shapes"] if s.get("name") == "bptt-cut"]
    assert [s["x0"] for s in cuts] == [t - 0.5 for t in range(k, T, k)]
    labels = [a["text"] for a in chart["layout"]["annotations"] if a.get("name") == "bptt-cut"]
    assert labels == [f"BPTT cut every {k} steps"]

    def dH_norm(truncate: int | None) -> list[float]:
        body = {"inputs": trace["inputs"], "targets": trace["targets"], "truncate": truncate}
        response = SERVER.post(f"{live_server}/api/v1/models/{trace['id']}/backward", json=body)
        assert response.status_code == 200, response.text
        return list(response.json()["trace"]["layers"][0]["dH_norm"])

    # the curve is the server's truncated gradient, which differs from the full one
    truncated = dH_norm(k)
    # (a log axis leaves a zero as a gap: before the first cut a many-to-one loss sends nothing)
    plotted = [0.0 if v is None else v for v in chart["y"]]
    np.testing.assert_allclose(plotted, [max(v, 0.0) for v in truncated], rtol=1e-12)
    assert not np.allclose(truncated, dH_norm(None))
    shot(page, "bptt-cut", "#view-gradients")


def test_a_new_bptt_length_in_the_training_form_redraws_the_explored_gradient_with_it(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=sine&p=length:30&truncate=4")
    page.wait_for_function("() => window.rnnExplorer.trace()?.truncate === 4")
    page.click("#tab-train")
    page.fill("#truncate", "7")
    page.wait_for_function("() => window.rnnExplorer.trace()?.truncate === 7")
    trace = page.evaluate(
        "(() => { const t = window.rnnExplorer.trace();"
        " return { id: t.modelId, T: t.T, inputs: t.inputs, targets: t.targets }; })()"
    )
    page.click("#tab-explore")
    chart = page.evaluate(
        """() => {
          const el = document.getElementById('view-gradients');
          const line = el.data.find((t) => t.name === '‖dL/dH_t‖');
          return { y: Array.from(line.y), layout: JSON.parse(JSON.stringify(el.layout)) };
        }"""
    )
    cuts = [s["x0"] for s in chart["layout"]["shapes"] if s.get("name") == "bptt-cut"]
    assert cuts == [t - 0.5 for t in range(7, trace["T"], 7)]
    body = {"inputs": trace["inputs"], "targets": trace["targets"], "truncate": 7}
    response = SERVER.post(f"{live_server}/api/v1/models/{trace['id']}/backward", json=body)
    truncated = response.json()["trace"]["layers"][0]["dH_norm"]
    plotted = [0.0 if v is None else v for v in chart["y"]]
    np.testing.assert_allclose(plotted, [max(v, 0.0) for v in truncated], rtol=1e-12)
    # emptied, the field asks for the full backward pass again: no cut is drawn
    page.click("#tab-train")
    page.fill("#truncate", "")
    page.wait_for_function("() => window.rnnExplorer.trace()?.truncate === null")
    page.click("#tab-explore")
    shapes = page.evaluate(
        "() => (document.getElementById('view-gradients').layout.shapes || [])"
        ".filter((s) => s.name === 'bptt-cut').length"
    )
    assert shapes == 0
