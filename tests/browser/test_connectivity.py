"""The connectivity strip under the unrolled network: its bars are the API's connectivity for
the cursor's output step, and those are finite differences of the API's own /forward."""

from collections.abc import Callable

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import shot
from tests.differences import connectivity_by_differences


def post(page: Page, path: str, body: dict) -> dict:
    origin = page.evaluate("() => location.origin")
    response = page.request.post(origin + path, data=body)
    assert response.ok, response.text()
    return response.json()


def strip_for(page: Page, t: int) -> list[float]:
    page.wait_for_function(
        "t => document.getElementById('view-connectivity').dataset.connectivityT === String(t)",
        arg=t,
    )
    return page.evaluate("() => document.getElementById('view-connectivity').data[0].y")


def finite_difference_norms(page: Page, model_id: str, inputs: np.ndarray, t: int, last: bool):
    """(T,) ‖∂Y_t/∂X_s‖_F by central differences of the API's /forward, as the page calls it."""

    def output_at_t(x: np.ndarray) -> np.ndarray:
        answer = post(page, f"/api/v1/models/{model_id}/forward", {"inputs": x.tolist()})
        outputs = np.asarray(answer["outputs"])
        return outputs if last else outputs[t]

    return connectivity_by_differences(output_at_t, inputs)


@pytest.mark.parametrize(
    ("query", "last"),
    [
        ("task=sine&p.mode=sequence&p.length=12&cell=rnn&t=7", False),
        ("task=sine&p.mode=sequence&p.length=12&cell=lstm&t=5", False),
        ("task=binary_addition&cell=gru&t=4", False),
    ],
)
def test_strip_shows_the_api_connectivity_for_the_cursor_step(
    explorer: Callable[..., Page], query: str, last: bool
) -> None:
    page = explorer(query)
    trace = page.evaluate(
        "() => { const t = window.rnnExplorer.trace(); "
        "return {modelId: t.modelId, inputs: t.inputs, sequence: t.sequence, T: t.T}; }"
    )
    t = page.evaluate("() => window.rnnExplorer.state.t")
    t = t if trace["sequence"] else trace["T"] - 1
    shown = strip_for(page, t)
    inputs = np.asarray(trace["inputs"], dtype=float)
    answer = post(
        page, f"/api/v1/models/{trace['modelId']}/connectivity", {"inputs": trace["inputs"], "t": t}
    )
    assert shown == answer["norms"]
    reference = finite_difference_norms(page, trace["modelId"], inputs, t, not trace["sequence"])
    scale = float(np.max(reference))
    assert scale > 1e-4, "the reference shows no dependence"
    np.testing.assert_allclose(shown, reference, rtol=0, atol=1e-6 * scale)
    k = answer["reach_90"]
    expect(page.locator("#connectivity-reach")).to_contain_text(f"O_{t}")
    expect(page.locator("#connectivity-reach")).to_contain_text(
        "the last step" if k == 1 else f"the last {k} steps"
    )
    title = page.evaluate(
        "() => document.getElementById('view-connectivity')._fullLayout.title.text"
    )
    assert f"how much O_{t} depends on x_s" in title
    # stepping moves the output step; the strip follows
    page.keyboard.press("ArrowRight")
    t_next = min(t + 1, trace["T"] - 1) if trace["sequence"] else t
    after = strip_for(page, t_next)
    expected = post(
        page,
        f"/api/v1/models/{trace['modelId']}/connectivity",
        {"inputs": trace["inputs"], "t": t_next},
    )["norms"]
    assert after == expected
    if trace["sequence"] and t_next < trace["T"] - 1:
        assert after[t_next + 1] == 0.0
    if "cell=lstm" in query:
        shot(page, "connectivity-strip", "#view-connectivity")


def test_strip_says_why_when_the_cost_is_above_the_server_bound(
    explorer: Callable[..., Page],
) -> None:
    # Keras' SimpleRNN(100) on (250, 32): Q·T·(D + L·G·H) = 100·250·132 = 3.3 million elements
    page = explorer("preset=SimpleRNN+shapes")
    limit = page.evaluate("() => fetch('/api/v1/choices').then(r => r.json())")["limits"][
        "max_elements"
    ]
    assert limit < 100 * 250 * 132
    expect(page.locator("#view-connectivity .empty")).to_contain_text(
        "Q·T·(D + L·G·H) = 3,300,000 is above the server's bound"
    )
    # the server refuses the same request, naming the bound
    trace = page.evaluate(
        "() => ({id: window.rnnExplorer.trace().modelId, x: window.rnnExplorer.trace().inputs})"
    )
    origin = page.evaluate("() => location.origin")
    response = page.request.post(
        f"{origin}/api/v1/models/{trace['id']}/connectivity", data={"inputs": trace["x"], "t": 249}
    )
    assert response.status == 422
    assert "RNN_EXPLORER_MAX_ELEMENTS" in response.text()
