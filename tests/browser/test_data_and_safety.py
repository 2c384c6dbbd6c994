"""Weights in and out, downloads, hostile names and texts, and the accessibility check."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.helpers import SERVER, run_axe, shot, wait_for_new_trace

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def equation_h(page: Page) -> float:
    value = page.locator("#view-equation [data-slot='h']").get_attribute("data-exact")
    assert value is not None
    return float(value)


def test_imported_weights_give_the_same_numbers_and_a_link_that_reopens_them(
    explorer: Callable[..., Page], live_server: str, tmp_path: Path
) -> None:
    page = explorer("task=binary_addition&t=3&unit=1")
    before_h = equation_h(page)
    model = page.evaluate("window.rnnExplorer.model()")
    weights = SERVER.get(f"{live_server}/api/v1/models/{model['id']}/weights").content
    path = tmp_path / "trained.safetensors"
    path.write_bytes(weights)
    previous = page.evaluate("document.body.dataset.traceReady")
    page.set_input_files("#import-weights", str(path))
    wait_for_new_trace(page, previous)
    imported = page.evaluate("window.rnnExplorer.model()")
    assert imported["id"] != model["id"]
    assert imported["name"] == "trained"
    assert equation_h(page) == before_h
    page.wait_for_function(
        f"() => new URLSearchParams(location.search).get('model') === '{imported['id']}'"
    )
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.evaluate("window.rnnExplorer.model().id") == imported["id"]


def test_a_file_that_is_not_safetensors_is_refused_in_place(
    explorer: Callable[..., Page], tmp_path: Path, allowed_console_errors: list[str]
) -> None:
    allowed_console_errors.append("status of 4")
    page = explorer("task=binary_addition")
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"this is not a safetensors file")
    page.set_input_files("#import-weights", str(path))
    expect(page.locator("#error")).to_be_visible()
    assert page.evaluate("document.getElementById('error').textContent").strip()


def test_downloads_weights_trace_json_and_csv(explorer: Callable[..., Page]) -> None:
    page = explorer("task=binary_addition")
    T = page.evaluate("window.rnnExplorer.trace().T")
    H = page.evaluate("window.rnnExplorer.trace().H")
    with page.expect_download() as weights:
        page.click("#download-weights")
    assert weights.value.suggested_filename.endswith(".safetensors")
    with page.expect_download() as trace_json:
        page.click("#download-json")
    assert '"layers"' in Path(trace_json.value.path()).read_text()
    with page.expect_download() as csv:
        page.click("#download-csv")
    lines = Path(csv.value.path()).read_text().strip().splitlines()
    assert len(lines) == T + 1
    assert lines[0].split(",")[: H + 1] == ["t", *[f"H_{j}" for j in range(H)]]


def test_hostile_model_names_are_shown_as_text(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer("task=binary_addition")
    config = page.evaluate("window.rnnExplorer.model().config")
    # made with the page's own cookie (its owner), so that the page may open it
    created = page.request.post(
        f"{live_server}/api/v1/models", data={"config": config, "name": HOSTILE}
    ).json()
    page = explorer(f"task=binary_addition&model={created['id']}")
    expect(page.locator("#model-summary")).to_contain_text(HOSTILE)
    assert page.locator("#model-summary img, #model-summary script").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_hostile_corpus_text_is_shown_as_text(explorer: Callable[..., Page]) -> None:
    page = explorer("task=char_lm")
    previous = page.evaluate("document.body.dataset.traceReady")
    corpus = (HOSTILE + " the harbour at night. ") * 3
    page.fill("#param-text", corpus)
    page.locator("#param-text").dispatch_event("change")
    wait_for_new_trace(page, previous)
    expect(page.locator("#error")).to_be_hidden()
    text = page.locator("#view-text .chars").text_content() or ""
    assert "<" in text or "=" in text
    assert page.locator("#view-text img, #view-text script").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "text-view", "#view-text")


def test_no_serious_accessibility_violations(explorer: Callable[..., Page]) -> None:
    page = explorer("task=char_lm")
    violations = run_axe(page)
    page.click("#tab-train")
    violations += run_axe(page)
    page.click("#tab-compare")
    violations += run_axe(page)
    assert violations == [], violations


def test_unrolled_network_downloads_as_png(explorer: Callable[..., Page]) -> None:
    page = explorer("task=binary_addition")
    with page.expect_download() as png:
        page.click("#download-unrolled")
    assert png.value.suggested_filename.endswith(".png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
