"""The Compare tab tells the truth: both configurations train on the same data with the same
settings, and the page's loss curves, gradient flow, underflow marks and sentence are the API's."""

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import SERVER, shot, small_figure_text
from tests.waiting import wait_until

# A: tanh with orthogonal W_hh keeps the gradient; B: sigmoid with N(0, 0.01²) weights shrinks
# it about a hundredfold a step, so over 200 steps ‖dL/dH_t‖ underflows to 0 (below 1e-308).
QUERY = (
    "task=sine&p.length=200&tab=compare&steps=20&batch=4"
    "&cmpA=rnn.tanh.orthogonal~h8&cmpB=rnn.sigmoid.normal~h8~s3"
)


def test_compare_trains_both_on_the_same_data_and_shows_what_the_api_computed(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer(QUERY)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.click("#compare-run")
    page.wait_for_function(
        "() => document.getElementById('compare-verdict').textContent.length > 0", timeout=120_000
    )
    sides: dict[str, Any] = page.evaluate(
        """() => {
          const c = window.rnnExplorer.comparison();
          const side = (s) => ({ session: c.training[s].session.id, model: c[s].modelId });
          const t = c.a;
          return { a: side("a"), b: side("b"), inputs: t.inputs, targets: t.targets };
        }"""
    )
    charts: dict[str, Any] = page.evaluate(
        """() => Object.fromEntries(["compare-loss", "compare-gradients"].map((id) => {
          const el = document.getElementById(id);
          return [id, {
            traces: el.data.map((t) => ({ name: t.name, x: Array.from(t.x), y: Array.from(t.y),
                                          symbol: t.marker?.symbol ?? null })),
            layout: JSON.parse(JSON.stringify(el.layout)),
          }];
        }))"""
    )

    # both traces came compact, as the explorer's do (derive.js filled in the rest, which the
    # checks below compare with the API's full answers)
    for side in "ab":
        passes = [
            url
            for url in asked
            if f"/models/{sides[side]['model']}/" in url
            and url.split("?")[0].endswith(("/forward", "/backward"))
        ]
        assert len(passes) == 2 and all(url.endswith("?fields=states") for url in passes), passes

    def get(path: str) -> Any:
        return SERVER.get(f"{live_server}/api/v1/{path}").json()

    sessions = {side: get(f"training/{sides[side]['session']}") for side in "ab"}
    # the same task data and training settings for both
    assert sessions["a"]["training"] == sessions["b"]["training"]
    assert sessions["a"]["training"]["task_params"]["length"] == 200
    assert sessions["a"]["step"] == sessions["b"]["step"] == 20
    models = {side: get(f"models/{sides[side]['model']}") for side in "ab"}
    assert models["a"]["config"]["nonlinearity"] == "tanh"
    assert models["b"]["config"]["nonlinearity"] == "sigmoid"
    assert models["b"]["config"]["seed"] == 3 and models["a"]["config"]["hidden_size"] == 8

    # the two loss curves are the two sessions' histories
    loss = {t["name"]: t for t in charts["compare-loss"]["traces"]}
    assert "(log)" in charts["compare-loss"]["layout"]["yaxis"]["title"]["text"]
    for side in "ab":
        records = get(f"training/{sides[side]['session']}/history")["records"]
        curve = loss[f"{side.upper()} loss"]
        assert curve["x"] == [r["step"] for r in records]
        assert curve["y"] == [r["loss"] for r in records]

    # the gradient flow is each trained model's /backward dH_norm; zeros are marked, not dropped
    grads = charts["compare-gradients"]
    floor = 10 ** (grads["layout"]["yaxis"]["range"][0] + 0.5)
    underflow: dict[str, list[int]] = {}
    reach: dict[str, list[float]] = {}
    for side in "ab":
        body = {"inputs": sides["inputs"], "targets": sides["targets"]}
        response = SERVER.post(
            f"{live_server}/api/v1/models/{sides[side]['model']}/backward", json=body
        )
        dH_norm = response.json()["trace"]["layers"][0]["dH_norm"]
        line = next(t for t in grads["traces"] if t["name"].startswith(f"{side.upper()}: rnn"))
        assert line["y"] == [v if v > 0 else None for v in dH_norm]
        underflow[side] = [t for t, v in enumerate(dH_norm) if v == 0]
        reach[side] = dH_norm
        marks = [t for t in grads["traces"] if t["name"] == f"{side.upper()}: underflow (0)"]
        if underflow[side]:
            assert marks and marks[0]["x"] == underflow[side]
            assert all(abs(y / floor - 1) < 1e-9 for y in marks[0]["y"])
            assert marks[0]["symbol"] != line["symbol"]
        else:
            assert not marks
    assert underflow["b"] and not underflow["a"]
    labels = [a["text"] for a in grads["layout"]["annotations"]]
    assert "underflow (0)" in labels

    verdict = page.text_content("#compare-verdict") or ""
    # A's reach back, ‖dL/dH_0‖ / ‖dL/dH_T−1‖, decides how the sentence reads B's underflow
    a_reach = reach["a"][0] / reach["a"][-1]
    if a_reach >= 1e-2:
        assert "B forgets the start of the sequence" in verdict, verdict
    else:
        assert "both forget the start of the sequence, B far more" in verdict, verdict
    assert "B's gradient at t = 0 underflows to 0" in verdict
    assert "after 20 steps" in verdict
    # both hidden-state maps veil the steps after t, opaquely, at the same place
    page.evaluate("window.rnnExplorer.set({t: 50})")
    for side in "ab":
        veil = page.locator(f"#compare-{side} .cursor-veil")
        expect(veil).to_be_visible()
        assert veil.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
        # from t + ½ to the end of the axis, in that plot's own pixels
        span = page.evaluate(
            """(side) => {
              const el = document.getElementById(`compare-${side}`);
              const xa = el._fullLayout.xaxis;
              const v = el.querySelector('.cursor-veil').getBoundingClientRect();
              const plot = el.getBoundingClientRect();
              return [v.left - plot.left, v.right - plot.left,
                      xa._offset + xa.l2p(50.5), xa._offset + xa._length];
            }""",
            side,
        )
        assert abs(span[0] - span[2]) < 1 and abs(span[1] - span[3]) < 1, (side, span)
    shot(page, "compare-truth", "#panel-compare")
    assert small_figure_text(page, "#panel-compare") == []


def test_the_compare_button_is_disabled_while_both_train_and_a_second_click_starts_nothing(
    explorer: Callable[..., Page],
) -> None:
    page = explorer(QUERY)
    held: list[Route] = []
    page.route("**/api/v1/models/*/train", lambda route: held.append(route))
    button = page.locator("#compare-run")
    expect(button).to_be_enabled()
    button.click()
    page.wait_for_function("() => document.getElementById('compare-run').disabled", timeout=30_000)
    expect(button).to_be_disabled()
    button.click(force=True)  # a click on the disabled button does nothing
    # the page's requests reach the handler while Playwright works: let it work a little each time
    wait_until(lambda: page.wait_for_timeout(50) or len(held) == 2, message="both sessions asked")
    for route in held:
        route.continue_()
    page.wait_for_function(
        "() => document.getElementById('compare-verdict').textContent.length > 0", timeout=120_000
    )
    expect(button).to_be_enabled()
    assert len(held) == 2
