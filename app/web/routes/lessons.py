"""Lessons: the guided tracks of the page, one per tutorial (their texts live in lessons/)."""

from fastapi import APIRouter

from app.services.lessons import Lesson
from app.web.deps import LessonsDep
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.lessons import LessonOutline

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"], responses=ERROR_RESPONSES)


@router.get("")
def list_lessons(lessons: LessonsDep) -> list[LessonOutline]:
    """Every lesson: its title, the tutorial it answers, a summary and its steps' titles."""
    return [LessonOutline(**outline) for outline in lessons.outlines()]


@router.get("/{name}")
def get_lesson(name: str, lessons: LessonsDep) -> Lesson:
    """One lesson whole: each step's prose as HTML (math in `.math` elements, for KaTeX) and its
    setup — the page's link keys (`query`), the views to highlight and the part pointed at."""
    return lessons.get(name)
