"""The lessons in the page: the first screen invites, the header lists them, and every lesson is
walked from its first step to its last; at each step what its setup says is on screen — the
model (from the server), the cursor, the pass, the tab, the highlighted views and the part
pointed at — and a screenshot is taken. A reload keeps the step."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from playwright.sync_api import Page, expect

from tests.browser.helpers import ARTIFACTS, SERVER, shot

# Link keys of a model field, and of a training field, with the config's name for each.
MODEL_KEYS = {
    key: key
    for key in ("cell", "nonlinearity", "hidden_size", "num_layers", "init", "seed", "forget_bias")
}
TRAINING_KEYS = {"opt": "optimizer", "lr": "lr", "steps": "steps", "batch": "batch_size"}
# Link keys shown by a control of the transport bar: its element and how to read it.
CONTROL_KEYS = {"unit": "#unit", "layer": "#layer", "speed": "#speed", "weight": "#weight-choice"}


def lessons(live_server: str) -> list[dict[str, Any]]:
    outlines = SERVER.get(f"{live_server}/api/v1/lessons").json()
    return [SERVER.get(f"{live_server}/api/v1/lessons/{o['name']}").json() for o in outlines]


def presets(live_server: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in SERVER.get(f"{live_server}/api/v1/presets").json()}


def wait_for_step(page: Page, name: str, index: int, previous_trace: str | None) -> None:
    """Until step `index` of lesson `name` is drawn with a trace built for it, nothing busy."""
    page.wait_for_selector(f"body[data-lesson-step='{name}/{index}']")
    page.wait_for_function(
        "prev => document.body.dataset.traceReady && document.body.dataset.traceReady !== prev"
        " && window.rnnExplorer.state.busy === 0",
        arg=previous_trace or "",
        timeout=60_000,
    )
    expect(page.locator("#error")).to_be_hidden()


def number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def check_setup(page: Page, live_server: str, step: dict[str, Any], known: dict[str, Any]) -> None:
    """What the step's link and views say, read off the page and the server."""
    link = dict(parse_qsl(step["query"]))
    setup = step["setup"]["link"]
    state = page.evaluate("window.rnnExplorer.state")
    model_id = page.evaluate("window.rnnExplorer.model().id")
    config = SERVER.get(f"{live_server}/api/v1/models/{model_id}").json()["config"]
    where = step["title"]
    if "task" in link:
        assert state["task"] == link["task"], where
    if "preset" in link:
        assert state["preset"] == link["preset"], where
        # the preset's fields, but for those the link sets itself (checked below)
        linked = {MODEL_KEYS.get(k) or TRAINING_KEYS.get(k) for k in setup}
        wanted = {k: v for k, v in known[link["preset"]]["model"].items() if k not in linked}
        assert {k: config[k] for k in wanted} == wanted, where
        for name, value in (known[link["preset"]].get("training") or {}).items():
            if name in state["training"] and name not in linked:
                assert number(state["training"][name]) == number(value), (where, name)
    for key, field in MODEL_KEYS.items():
        if key in setup:
            assert number(config[field]) == number(setup[key]), (where, key)
    for key, field in TRAINING_KEYS.items():
        if key in setup:
            assert number(state["training"][field]) == number(setup[key]), (where, key)
    for key, value in setup.items():
        if key.startswith("p."):
            assert page.locator(f"#param-{key[2:]}").input_value() == str(value), (where, key)
    T = page.evaluate("window.rnnExplorer.trace().T")
    t = int(setup.get("t", 0))
    assert t < T, f"{where}: t = {t} is past the sequence's {T} steps"
    expect(page.locator("#t-label")).to_contain_text(f"t = {t} ")
    phase = setup.get("phase", "forward")
    expect(page.locator(f'input[name="phase"][value="{phase}"]')).to_be_checked()
    tab = setup.get("tab", "explore")
    expect(page.locator(f'[role="tab"][data-tab="{tab}"]')).to_have_attribute(
        "aria-selected", "true"
    )
    for key, selector in CONTROL_KEYS.items():
        if key in setup:
            assert page.locator(selector).input_value() == str(setup[key]), (where, key)
    for view in step["setup"]["focus"]:
        card = page.locator(f"article.card:has(#view-{view})")
        expect(card).to_be_visible()
        expect(card).to_have_class(_has("lesson-focus"))
    if step["setup"]["focus"]:
        visible_cards = page.locator(f"#panel-{tab} article.card")
        for k in range(visible_cards.count()):
            classes = visible_cards.nth(k).get_attribute("class") or ""
            assert ("lesson-focus" in classes) != ("lesson-dim" in classes), where
    point = step["setup"]["point"]
    if point:
        pointed = int(page.evaluate("document.body.dataset.lessonPointed"))
        assert pointed > 0, f"{where}: {point} points at nothing on the page"
        view = page.locator(f"#view-{point['view']}")
        if point.get("unit") is not None:  # a row the view draws itself
            expect(view).to_have_attribute("data-pointed-unit", str(point["unit"]))
        if point.get("part") or point.get("unit") is None:
            inside = page.locator(
                f"#view-{point['view']} .lesson-point, #view-{point['view']}.lesson-point"
            )
            assert inside.count() == pointed - (point.get("unit") is not None), where
            expect(inside.first).to_be_visible()
    if 'class="math' in step["html"]:
        maths = page.locator("#lesson-body .math").count()
        assert page.locator("#lesson-body .math .katex").count() == maths, (
            f"{where}: untypeset math"
        )


def _has(name: str) -> re.Pattern[str]:
    """Matches a class attribute that holds the class `name`."""
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_every_lesson_walks_from_its_first_step_to_its_last_with_its_setup_on_screen(
    explorer: Callable[..., Page], live_server: str
) -> None:
    known = presets(live_server)
    all_lessons = lessons(live_server)
    assert len(all_lessons) >= 1
    page = explorer()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for lesson in all_lessons:
        name = lesson["name"]
        before = page.evaluate("document.body.dataset.traceReady")
        page.click("#lessons-open")
        page.click(f'#lessons-list button[data-lesson="{name}"]')
        for index, step in enumerate(lesson["steps"]):
            wait_for_step(page, name, index, before)
            expect(page.locator("#lesson-step-title")).to_have_text(step["title"])
            expect(page.locator("#lesson-progress")).to_have_text(
                f"Step {index + 1} of {len(lesson['steps'])}"
            )
            check_setup(page, live_server, step, known)
            page.screenshot(path=str(ARTIFACTS / f"lesson-{name}-{index + 1}.png"))
            if index == 0:
                shot(page, f"lesson-{name}")
            if index + 1 < len(lesson["steps"]):
                before = page.evaluate("document.body.dataset.traceReady")
                page.click("#lesson-next")
        expect(page.locator("#lesson-next")).to_be_disabled()
        page.click("#lesson-close")
        expect(page.locator("#lesson")).to_be_hidden()
        assert page.locator(".lesson-dim, .lesson-focus, .lesson-point").count() == 0


def test_a_reload_keeps_the_lesson_and_its_step_and_back_goes_back(
    explorer: Callable[..., Page], live_server: str
) -> None:
    lesson = lessons(live_server)[0]
    page = explorer(f"lesson={lesson['name']}&step=1&{lesson['steps'][1]['query']}")
    page.wait_for_selector(f"body[data-lesson-step='{lesson['name']}/1']")
    query = page.evaluate("window.rnnExplorer.query()")
    assert "lesson=" in query and "step=1" in query
    page.reload()
    page.wait_for_selector(f"body[data-lesson-step='{lesson['name']}/1']")
    expect(page.locator("#lesson-step-title")).to_have_text(lesson["steps"][1]["title"])
    before = page.evaluate("document.body.dataset.traceReady")
    page.click("#lesson-back")
    wait_for_step(page, lesson["name"], 0, before)
    expect(page.locator("#lesson-back")).to_be_disabled()


def test_the_first_screen_invites_once_and_play_uses_the_invitation_up(
    explorer: Callable[..., Page],
) -> None:
    page = explorer()
    invitation = page.locator("#welcome")
    expect(invitation).to_be_visible()
    expect(invitation).to_contain_text("Press ▶")
    page.click("#welcome-play")
    expect(invitation).to_be_hidden()
    page.wait_for_function("() => window.rnnExplorer.state.playing || window.rnnExplorer.state.t")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    expect(invitation).to_be_hidden()  # for good, on this browser


def test_the_invitation_starts_the_first_lesson(
    explorer: Callable[..., Page], live_server: str
) -> None:
    first = lessons(live_server)[0]
    page = explorer()
    page.click("#welcome-lesson")
    page.wait_for_selector(f"body[data-lesson-step='{first['name']}/0']")
    expect(page.locator("#welcome")).to_be_hidden()
    expect(page.locator("#lesson")).to_be_visible()


def test_the_header_links_to_the_lessons_and_the_docs(
    explorer: Callable[..., Page], live_server: str
) -> None:
    page = explorer()
    page.click("#lessons-open")
    listed = page.locator("#lessons-list button[data-lesson]")
    expect(listed).to_have_count(len(lessons(live_server)))
    page.click("#lessons-menu-close")
    expect(page.get_by_role("link", name="API docs")).to_have_attribute("href", "/docs")
