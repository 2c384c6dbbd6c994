"""The page fetches forward and backward answers as binary traces (compact: `?fields=states`) and
decodes them into the same numbers as the API's JSON answer for the same request; the full binary
form, decoded by the page's api.js, equals the JSON answer too (test_derived_traces.py checks the
arrays the page derives)."""

import json
from typing import Any

from playwright.sync_api import Page

from tests.browser.helpers import open_explorer

TRACE = "application/vnd.rnn-explorer.trace"

# the page's trace as JSON, each typed array tagged so the test can see it was one
READ_TRACE = """() => {
  const { layers, outputs, logits, dO, loss } = window.rnnExplorer.trace();
  const tag = (key, value) => ArrayBuffer.isView(value)
    ? { typed: value.constructor.name, values: Array.from(value) } : value;
  return JSON.stringify({ layers, outputs, logits, dO, loss }, tag);
}"""
QUERY = "task=sine&p.length=12&p.mode=sequence&cell=lstm&hidden_size=6"


def _untag(value: Any, typed: list[str]) -> Any:
    """The page's tagged JSON → plain lists, noting each typed array's class in `typed`."""
    if isinstance(value, dict) and set(value) == {"typed", "values"}:
        typed.append(value["typed"])
        return value["values"]
    if isinstance(value, dict):
        return {key: _untag(item, typed) for key, item in value.items()}
    if isinstance(value, list):
        return [_untag(item, typed) for item in value]
    return value


def test_page_decodes_binary_traces_into_the_json_answers_numbers(
    page: Page, live_server: str
) -> None:
    requests: dict[str, Any] = {}

    def record(response: Any) -> None:
        for route in ("forward", "backward"):
            path = response.url.split("?")[0]
            if path.endswith(f"/{route}") and response.request.method == "POST":
                requests[route] = response

    page.on("response", record)
    open_explorer(page, live_server, QUERY)
    page.wait_for_function("() => window.rnnExplorer.trace()?.hasBackward")
    typed: list[str] = []
    shown = _untag(json.loads(page.evaluate(READ_TRACE)), typed)

    assert set(requests) == {"forward", "backward"}
    for response in requests.values():
        assert response.headers["content-type"] == TRACE
        assert TRACE in response.request.headers["accept"]
    assert typed and set(typed) <= {"Float32Array", "Float64Array"}

    answers = {
        route: page.request.post(
            response.url.split("?")[0],
            data=response.request.post_data,
            headers={"Content-Type": "application/json"},
        ).json()
        for route, response in requests.items()
    }
    forward, backward = answers["forward"], answers["backward"]
    assert shown["outputs"] == forward["outputs"]
    assert shown["logits"] == forward["logits"]
    assert shown["loss"] == backward["loss"]
    assert shown["dO"] == backward["trace"]["dO"]
    for k, layer in enumerate(shown["layers"]):
        sent, grads = forward["trace"]["layers"][k], backward["trace"]["layers"][k]
        assert layer["H"] == sent["H"], f"layer {k} H"
        assert layer["gates"]["C"] == sent["gates"]["C"], f"layer {k} C"
        for name in ("dH", "dH_norm", "dC"):
            assert layer[name] == grads[name], f"layer {k} {name}"

    # the full binary form, as an API client of the page's own api.js would fetch it
    full = json.loads(
        page.evaluate(
            """async ([forwardBody, backwardBody]) => {
              const url = [...document.scripts].map((s) => s.src)
                .find((src) => src.endsWith("/js/main.js"));
              const api = await import(new URL("api.js", url).href);
              const id = window.rnnExplorer.trace().modelId;
              const forward = await api.forward(id, JSON.parse(forwardBody));
              const backward = await api.backward(id, JSON.parse(backwardBody));
              const tag = (key, value) => ArrayBuffer.isView(value)
                ? { typed: value.constructor.name, values: Array.from(value) } : value;
              return JSON.stringify({ forward, backward }, tag);
            }""",
            [requests["forward"].request.post_data, requests["backward"].request.post_data],
        )
    )
    typed_full: list[str] = []
    decoded = _untag(full, typed_full)
    assert typed_full and set(typed_full) <= {"Float32Array", "Float64Array"}
    assert decoded["forward"] == forward
    assert decoded["backward"] == backward
