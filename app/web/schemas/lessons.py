"""The answers of the lesson routes (a whole lesson is the service's own `Lesson`)."""

from pydantic import BaseModel


class LessonOutline(BaseModel):
    name: str
    title: str
    tutorial: str  # the file in the tutorials the lesson answers
    summary: str
    steps: list[str]  # the steps' titles, in order
