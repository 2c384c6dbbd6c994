"""Shared dependencies: the settings and the services, held on the app's state."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.services.lessons import LessonService
from app.services.models import ModelService
from app.services.tasks import TaskService
from app.services.training import TrainingService
from app.settings import Settings

__all__ = [
    "LessonsDep",
    "ModelsDep",
    "SettingsDep",
    "TasksDep",
    "TrainingDep",
    "lessons_of",
    "models_of",
    "settings_of",
    "tasks_of",
    "training_of",
]


def settings_of(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def models_of(connection: HTTPConnection) -> ModelService:
    service: ModelService = connection.app.state.models
    return service


def lessons_of(connection: HTTPConnection) -> LessonService:
    service: LessonService = connection.app.state.lessons
    return service


def tasks_of(connection: HTTPConnection) -> TaskService:
    service: TaskService = connection.app.state.tasks
    return service


def training_of(connection: HTTPConnection) -> TrainingService:
    service: TrainingService = connection.app.state.training
    return service


SettingsDep = Annotated[Settings, Depends(settings_of)]
ModelsDep = Annotated[ModelService, Depends(models_of)]
LessonsDep = Annotated[LessonService, Depends(lessons_of)]
TasksDep = Annotated[TaskService, Depends(tasks_of)]
TrainingDep = Annotated[TrainingService, Depends(training_of)]
