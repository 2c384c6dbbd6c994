"""The answers of the lesson routes (a whole lesson is the service's own `Lesson`)."""

from pydantic import BaseModel


class LessonOutline(BaseModel):
    name: str
    title: str
    tutorial: str | None  # the file of the tutorial the lesson answers, if one does
    summary: str
    steps: list[str]  # the steps' titles, in order
