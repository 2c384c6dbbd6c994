"""Lessons: guided tracks through the page, each answering a tutorial, read from Markdown.

A lesson is a file `lessons/<name>.md`: YAML front matter (`title`, `summary` and `tutorial`,
the file of the tutorial it answers, when one does), then its steps. A step is a level-2
heading, a fenced block of YAML whose info string is `step`, and two or three paragraphs of
Markdown with a "**Try:**" paragraph (the one thing the learner does) and a "**Look:**"
paragraph (what they should now see). Math goes between `$…$` (inline) or `$$…$$` (display,
on lines of its own) and is typeset by the page (KaTeX); raw HTML in a lesson is escaped,
never rendered.

The step block says what the page shows when the step opens:

    link:  {preset: "Sine, tutorial weights", t: 49, phase: backward}   # keys of the page's link
    focus: [gradients, equation]                                        # views to highlight
    point: {view: equation, part: ".t-hh"}                              # a part of a view
    point: {view: heatmap, unit: 3}                                     # or a unit's row

`link` holds keys of the page's link (static/js/url.js names them) and sets everything the link
can say: a key it leaves out takes its default. A preset's task is filled in here from the
preset. `point.part` is a CSS selector inside the view's element.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.services.errors import NotFoundError
from app.services.tasks import TaskService

__all__ = ["LESSONS_DIR", "Lesson", "LessonError", "LessonService", "Step"]

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"

# A value of the page's link: YAML gives strings, numbers and booleans.
LinkValue = str | int | float | bool


class LessonError(ValueError):
    """A lesson file that cannot be read: `where` names the file and step."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Point(_Strict):
    """A part of a view the step draws attention to: `part` a CSS selector inside the view's
    element (an equation term `.t-hh`, a node of the unrolled network `[data-row=h1][data-t="3"]`),
    or `unit` a hidden unit, whose row the heatmap outlines."""

    view: str
    part: str | None = None
    unit: int | None = Field(default=None, ge=0)


class Setup(_Strict):
    """What the page shows when the step opens (the module docstring)."""

    link: dict[str, LinkValue] = Field(default_factory=dict)
    focus: list[str] = Field(default_factory=list)
    point: Point | None = None


class Step(_Strict):
    title: str
    html: str  # the step's prose, rendered
    setup: Setup
    query: str  # setup.link as the page's query string, its preset's task filled in


class Front(_Strict):
    title: str
    tutorial: str | None = None  # None for a lesson no one tutorial asks for (the memory tasks)
    summary: str


class Lesson(_Strict):
    name: str
    title: str
    tutorial: str | None
    summary: str
    steps: list[Step]

    def outline(self) -> dict[str, Any]:
        """The lesson without its steps' prose: for the list of lessons."""
        return {
            "name": self.name,
            "title": self.title,
            "tutorial": self.tutorial,
            "summary": self.summary,
            "steps": [step.title for step in self.steps],
        }


def _markdown() -> MarkdownIt:
    # commonmark with raw HTML off: a lesson's "<script>" is text on the page
    return MarkdownIt("commonmark", {"html": False}).use(front_matter_plugin).use(dollarmath_plugin)


def _yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise LessonError(f"{where}: the YAML does not parse ({error})") from error


def _validated(model: type[_Strict], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'block'}: {e['msg']}" for e in error.errors()
        )
        raise LessonError(f"{where}: {problems}") from error


def parse_lesson(name: str, text: str, presets: Mapping[str, str | None]) -> Lesson:
    """The lesson of a file's `text`; `presets` maps each preset's name to its task (or None).

    Raises LessonError naming the file and the step for a missing or malformed part.
    """
    md = _markdown()
    tokens = md.parse(text)
    where = f"lessons/{name}.md"
    if not tokens or tokens[0].type != "front_matter":
        raise LessonError(f"{where}: the file must start with front matter (title, tutorial, …)")
    front: Front = _validated(Front, _yaml(tokens[0].content, where), where)
    sections: list[list[Token]] = []
    for token in tokens[1:]:
        if token.type == "heading_open" and token.tag == "h2":
            sections.append([])
        if not sections:
            if token.content.strip():
                raise LessonError(f"{where}: text before the first step (a '## ' heading)")
            continue
        sections[-1].append(token)
    if not sections:
        raise LessonError(f"{where}: no steps (each step starts with a '## ' heading)")
    steps = [
        _step(md, section, f"{where}, step {k + 1}", presets) for k, section in enumerate(sections)
    ]
    return Lesson(name=name, steps=steps, **front.model_dump())


def _step(
    md: MarkdownIt, tokens: list[Token], where: str, presets: Mapping[str, str | None]
) -> Step:
    title = tokens[1].content.strip()  # heading_open, inline, heading_close
    body = tokens[3:]
    blocks = [t for t in body if t.type == "fence" and t.info.strip() == "step"]
    if len(blocks) != 1:
        raise LessonError(f"{where} ({title!r}): needs exactly one ```step block")
    setup: Setup = _validated(Setup, _yaml(blocks[0].content, where) or {}, f"{where} ({title!r})")
    prose = [t for t in body if t is not blocks[0]]
    text = " ".join(t.content for t in prose if t.type == "inline")
    for label in ("**Try:**", "**Look:**"):
        if label not in text:
            raise LessonError(f"{where} ({title!r}): needs a {label} paragraph")
    link = dict(setup.link)
    if "preset" in link:
        preset = str(link["preset"])
        if preset not in presets:
            raise LessonError(f"{where} ({title!r}): no preset named {preset!r}")
        task = presets[preset]
        if task is not None and link.setdefault("task", task) != task:
            raise LessonError(f"{where} ({title!r}): the preset {preset!r} is of task {task!r}")
    ordered = {key: link[key] for key in ("task", "preset") if key in link} | link
    query = urlencode({key: _formatted(value) for key, value in ordered.items()})
    html = md.renderer.render(prose, md.options, {})
    return Step(title=title, html=html, setup=setup, query=query)


def _formatted(value: LinkValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class LessonService:
    """The lessons of `directory`, read and checked once, in the order of the files' names; a
    leading number orders them and is not part of the name ("1-simple-rnn.md": simple-rnn)."""

    def __init__(self, tasks: TaskService, directory: Path = LESSONS_DIR) -> None:
        presets = {preset["name"]: preset["task"] for preset in tasks.presets()}
        tasks_by_name = {task["name"] for task in tasks.list_all()}
        self._lessons: dict[str, Lesson] = {}
        for path in sorted(directory.glob("*.md")):
            name = re.sub(r"^\d+-", "", path.stem)  # "1-simple-rnn.md" → simple-rnn
            lesson = parse_lesson(name, path.read_text(encoding="utf-8"), presets)
            for k, step in enumerate(lesson.steps):
                task = step.setup.link.get("task")
                if task is not None and task not in tasks_by_name:
                    raise LessonError(f"lessons/{path.name}, step {k + 1}: no task {task!r}")
            self._lessons[name] = lesson

    def outlines(self) -> list[dict[str, Any]]:
        return [lesson.outline() for lesson in self._lessons.values()]

    def get(self, name: str) -> Lesson:
        if name not in self._lessons:
            raise NotFoundError(f"no lesson named {name!r}")
        return self._lessons[name]
