"""The lesson files: what a step must have, what the page is given, and the shipped lessons."""

from pathlib import Path

import pytest

from app.services.lessons import LESSONS_DIR, LessonError, LessonService, parse_lesson
from app.services.limits import Limits
from app.services.tasks import TaskService
from app.settings import Settings

PRESETS = {"Sine, tutorial weights": "sine", "SimpleRNN shapes": None}

FRONT = "---\ntitle: A lesson\ntutorial: some-tutorial.txt\nsummary: What it shows.\n---\n\n"


def step(title: str = "A step", setup: str = "link: {task: sine, t: 3}", prose: str = "") -> str:
    prose = prose or "Some words with $H_t$.\n\n**Try:** press ▶.\n\n**Look:** the band moves."
    return f"## {title}\n\n```step\n{setup}\n```\n\n{prose}\n\n"


def test_a_step_gives_the_page_its_link_its_views_and_its_prose() -> None:
    text = FRONT + step(
        setup="link: {preset: 'Sine, tutorial weights', t: 49, phase: backward}\n"
        "focus: [gradients]\npoint: {view: equation, part: '.t-hh'}"
    )
    lesson = parse_lesson("a", text, PRESETS)
    (only,) = lesson.steps
    # the preset's task is filled in, first, so that the page reads the task before the preset
    assert only.query == "task=sine&preset=Sine%2C+tutorial+weights&t=49&phase=backward"
    assert only.setup.focus == ["gradients"]
    assert only.setup.point is not None and only.setup.point.part == ".t-hh"
    assert '<span class="math inline">H_t</span>' in only.html
    assert "<strong>Try:</strong>" in only.html
    assert lesson.outline()["steps"] == ["A step"]


def test_a_step_of_a_shapes_only_preset_names_no_task() -> None:
    lesson = parse_lesson("a", FRONT + step(setup="link: {preset: SimpleRNN shapes}"), PRESETS)
    assert lesson.steps[0].query == "preset=SimpleRNN+shapes"


def test_raw_html_in_a_lesson_is_text_and_display_math_is_a_block() -> None:
    prose = (
        "<script>alert(1)</script> [x](javascript:alert(1))\n\n"
        "$$A_t = X_t W_{xh}$$\n\n**Try:** a.\n\n**Look:** b."
    )
    html = parse_lesson("a", FRONT + step(prose=prose), PRESETS).steps[0].html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<div class="math block">' in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (step(), "front matter"),
        (FRONT, "no steps"),
        (FRONT + "Words first.\n\n" + step(), "before the first step"),
        (FRONT + "## No block\n\n**Try:** a.\n\n**Look:** b.\n", "exactly one ```step block"),
        (FRONT + step(prose="Only words.\n\n**Look:** b."), "**Try:**"),
        (FRONT + step(prose="Only words.\n\n**Try:** b."), "**Look:**"),
        (FRONT + step(setup="link: {preset: Nope}"), "no preset named 'Nope'"),
        (
            FRONT + step(setup="link: {task: copy, preset: 'Sine, tutorial weights'}"),
            "of task 'sine'",
        ),
        (FRONT + step(setup="focus: gradients"), "focus"),
        (FRONT + step(setup="colour: red"), "colour"),
        (FRONT + step(setup="link: {t: [1"), "YAML"),
        ("---\ntitle: x\n---\n" + step(), "summary"),
    ],
)
def test_a_malformed_lesson_is_refused_naming_the_file_and_the_step(
    text: str, message: str
) -> None:
    with pytest.raises(LessonError) as caught:
        parse_lesson("broken", text, PRESETS)
    assert "lessons/broken.md" in str(caught.value)
    assert message in str(caught.value)


def test_a_step_naming_an_unknown_task_is_refused_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "1-x.md").write_text(FRONT + step(setup="link: {task: nope}"), encoding="utf-8")
    with pytest.raises(LessonError, match="no task 'nope'"):
        LessonService(TaskService(Limits(Settings())), tmp_path)


def test_the_shipped_lessons_load_in_their_files_order() -> None:
    service = LessonService(TaskService(Limits(Settings())))
    files = sorted(LESSONS_DIR.glob("*.md"))
    names = [outline["name"] for outline in service.outlines()]
    assert names == [path.stem.split("-", 1)[1] for path in files]
    assert names[0] == "simple-rnn"
    for name in names:
        lesson = service.get(name)
        assert lesson.tutorial is None or lesson.tutorial.endswith(".txt"), name
        assert all(step.query for step in lesson.steps), name
