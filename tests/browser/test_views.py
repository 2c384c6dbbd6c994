"""The views that explain: the unrolled network's shared weights and gradient direction,
compare, the stream from the server, presets, and the page on a projector and a tablet."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import shot


def test_unrolled_network_names_the_same_three_matrices_on_every_step(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=sine&p.mode=sequence&p.length=30&t=10")
    labels = page.eval_on_selector_all(
        "#view-unrolled .edge-label", "nodes => nodes.map(n => n.textContent)"
    )
    steps = page.locator("#view-unrolled .tick").count()
    assert labels.count("W_xh") == steps
    assert labels.count("W_hq") == steps
    assert labels.count("W_hh") >= steps - 1
    assert set(labels) == {"W_xh", "W_hh", "W_hq"}
    forward_arrows = page.locator("#view-unrolled line[marker-end]").count()
    assert forward_arrows > 0
    page.keyboard.press("b")
    # on the backward pass every edge points the other way: the gradient flows right to left
    expect(page.locator("#view-unrolled line[marker-start]")).to_have_count(forward_arrows)
    expect(page.locator("#view-unrolled .unrolled-caption")).to_contain_text("right to left")
    shot(page, "unrolled-backward", "#view-unrolled")


def test_long_sequences_keep_a_readable_window_and_an_overview(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=sine&p.length=1000&t=500")
    assert page.evaluate("window.rnnExplorer.trace().T") == 1000
    ticks = page.eval_on_selector_all("#view-unrolled .tick", "n => n.map(e => e.textContent)")
    assert 5 <= len(ticks) <= 30
    assert "t=500" in ticks
    page.keyboard.press("End")
    expect(page.locator("#view-unrolled .tick").last).to_have_text("t=999")
    expect(page.locator("#view-overview .cursor-band")).to_be_visible()


def test_compare_runs_two_configurations_on_the_same_input(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&tab=compare&steps=40")
    page.select_option("#cmp-a-nonlinearity", "sigmoid")
    page.select_option("#cmp-a-init", "uniform")
    page.select_option("#cmp-b-nonlinearity", "relu")
    page.select_option("#cmp-b-init", "orthogonal")
    page.click("#compare-run")
    expect(page.locator("#compare-gradients .main-svg").first).to_be_attached(timeout=90_000)
    expect(page.locator("#view-compare .compare-loss")).to_contain_text("A: loss")
    names = page.evaluate("document.getElementById('compare-gradients').data.map(d => d.name)")
    assert any("sigmoid" in n and "uniform" in n for n in names)
    assert any("relu" in n and "orthogonal" in n for n in names)
    # the link names B (A is the page's default comparison, which a link leaves out)
    page.wait_for_function("() => new URLSearchParams(location.search).get('cmpB') !== null")
    assert "cmpB=rnn.relu.orthogonal" in page.url
    assert page.evaluate("window.rnnExplorer.state.compare.a") == {
        "cell": "rnn",
        "nonlinearity": "sigmoid",
        "init": "uniform",
    }
    shot(page, "compare")


def test_streaming_from_the_server_replays_the_same_numbers(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&speed=60")
    page.click("#stream")
    expect(page.locator("#status")).to_contain_text("Streamed 16 frames", timeout=20_000)
    expect(page.locator("#status")).to_contain_text("match the REST trace")
    assert page.evaluate("window.rnnExplorer.state.phase") == "backward"


def test_projector_and_tablet_layouts_fit_without_sideways_scrolling(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=char_lm")
    for width, height, name in [(1280, 720, "projector"), (820, 1180, "tablet")]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function("width => document.documentElement.scrollWidth <= width", arg=width)
        expect(page.locator("#play")).to_be_in_viewport()
        shot(page, f"layout-{name}")


def test_text_view_colours_characters_and_samples_a_continuation(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=char_lm&t=5&unit=3")
    chars = page.locator("#view-text .chars span")
    T = page.evaluate("window.rnnExplorer.trace().T")
    expect(chars).to_have_count(T)
    expect(chars.nth(5)).to_have_class("current")
    expect(page.locator("#view-text .topk span")).to_have_count(6)  # "after t=5:" + top 5
    chars.nth(9).click()
    expect(chars.nth(9)).to_have_class("current")
    assert page.evaluate("window.rnnExplorer.state.t") == 9
    page.fill("#sample-chars", "6")
    page.click("#sample-text")
    page.wait_for_function(
        "() => { const s = document.querySelector('#view-text .sampled .continuation').textContent;"
        " return s.length === 6 && s !== '…'; }",
        timeout=60_000,
    )
    vocabulary = page.evaluate("window.rnnExplorer.trace().meta.vocab")
    sampled = page.locator("#view-text .sampled .continuation").text_content() or ""
    assert all(c in vocabulary for c in sampled)


def test_a_typed_prompt_is_continued_in_one_request_as_the_api_continues_it(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=char_lm")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.fill("#sample-prompt", "The ferry")
    page.fill("#sample-chars", "30")
    page.fill("#sample-top-k", "5")
    page.press("#sample-prompt", "Enter")  # Enter in the prompt box samples
    page.wait_for_function("() => window.rnnExplorer.state.sampled.seed !== null", timeout=60_000)
    prompt = page.locator("#view-text .sampled .prompt").text_content()
    continuation = page.locator("#view-text .sampled .continuation").text_content() or ""
    assert prompt == "The ferry" and len(continuation) == 30
    asked = [url for url in requests if "/api/v1/models/" in url]
    assert len(asked) == 1 and asked[0].endswith("/generate")  # one request, no /forward
    sampled = page.evaluate("window.rnnExplorer.state.sampled")
    expect(page.locator("#view-text .sampled .seed")).to_have_text(f" (seed {sampled['seed']})")
    model_id = page.evaluate("window.rnnExplorer.trace().modelId")
    temperature = float(page.input_value("#temperature"))
    answer = page.request.post(
        f"{live_server}/api/v1/models/{model_id}/generate",
        data={
            "prefix": "The ferry",
            "length": 30,
            "temperature": temperature,
            "top_k": 5,
            "seed": sampled["seed"],
        },
    ).json()
    assert answer["text"] == prompt + continuation
    assert answer["probabilities"] == sampled["probabilities"]


def test_heatmap_click_moves_the_cursor_and_selects_the_unit(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition")
    # the mouse reaches only what is in the viewport
    page.locator("#view-heatmap").scroll_into_view_if_needed()
    box = page.locator("#view-heatmap .nsewdrag").first.bounding_box()
    assert box is not None
    # bottom right (the mode bar covers the top right): the last step, one of the last units
    x, y = box["x"] + box["width"] * 0.95, box["y"] + box["height"] * 0.97
    page.mouse.move(x, y)
    # Plotly reports a click on the point it hovers: wait for its hover label first
    page.wait_for_selector("#view-heatmap .hoverlayer .hovertext")
    page.mouse.click(x, y)
    page.wait_for_function("() => window.rnnExplorer.state.t > 0")
    H = page.evaluate("window.rnnExplorer.trace().H")
    assert page.evaluate("window.rnnExplorer.state.unit") == H - 1
    assert page.evaluate("window.rnnExplorer.state.t") == page.evaluate(
        "window.rnnExplorer.trace().T - 1"
    )


def test_binary_addition_results_show_the_bits_and_the_carry(
    explorer: Callable[..., Page],
) -> None:
    page = explorer("task=binary_addition&tab=train")
    table = page.locator("#view-task-results table.bits")
    expect(table).to_contain_text("carry in")
    expect(table).to_contain_text("predicted")
    meta = page.evaluate("window.rnnExplorer.trace().meta")
    bits = page.evaluate("window.rnnExplorer.trace().targets.map(r => r[0])")
    assert sum(int(b) << k for k, b in enumerate(bits)) == meta["sum"]


def test_on_a_tablet_the_form_folds_away_above_the_views(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{live_server}/?task=sine")
    page.wait_for_selector("body[data-ready='true']")
    toggle = page.locator("#sidebar-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#config-form")).to_be_hidden()
    expect(page.locator("#view-unrolled svg")).to_be_in_viewport()
    toggle.click()
    expect(page.locator("#task")).to_be_visible()


def test_gradient_view_says_when_the_gradient_vanishes(explorer: Callable[..., Page]) -> None:
    page = explorer("task=copy&cell=rnn&nonlinearity=sigmoid&init=uniform")
    expect(page.locator("#gradient-radius")).to_contain_text("the gradient vanishes")
    page = explorer("task=copy&cell=rnn&nonlinearity=tanh&init=orthogonal")
    expect(page.locator("#gradient-radius")).to_contain_text("the gradient holds up")
    shot(page, "gradient-flow", "article[aria-labelledby='h-gradients']")
