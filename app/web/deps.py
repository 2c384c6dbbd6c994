"""Shared dependencies: the settings and the services, held on the app's state."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.services.errors import NotFoundError
from app.services.lessons import LessonService
from app.services.models import ModelService
from app.services.tasks import TaskService
from app.services.training import TrainingService
from app.settings import Settings
from app.store import ModelRecord, SessionRecord
from app.web.owners import Caller, can_manage, can_read, refuse_shared

__all__ = [
    "CallerDep",
    "LessonsDep",
    "ManagedSession",
    "ModelsDep",
    "OwnedModel",
    "ReadableModel",
    "SettingsDep",
    "TasksDep",
    "TrainingDep",
    "VisibleSession",
    "caller_of",
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


# Owners (app.web.owners): the caller, and the models and sessions it may touch. Another
# owner's model or session is a 404, the same answer as an id that names nothing.


def caller_of(connection: HTTPConnection) -> Caller:
    """Who the request acts as (set by OwnerMiddleware; the seam for per-owner quotas)."""
    caller: Caller | None = connection.scope.get("state", {}).get("caller")
    return caller if caller is not None else Caller(owner="")


CallerDep = Annotated[Caller, Depends(caller_of)]


def readable_model(model_id: str, caller: CallerDep, models: ModelsDep) -> ModelRecord:
    """The model if the caller owns it, is the instructor or holds its share link; else 404."""
    record = models.get(model_id)
    if not can_read(caller, model_id, record.owner_id):
        raise NotFoundError(f"no model with id {model_id!r}")
    return record


def owned_model(model_id: str, caller: CallerDep, models: ModelsDep) -> ModelRecord:
    """The model if the caller may change it; a share link's holder gets 403, others 404."""
    record = readable_model(model_id, caller, models)
    if not can_manage(caller, record.owner_id):
        raise refuse_shared(model_id)
    return record


def visible_session(session_id: str, caller: CallerDep, training: TrainingDep) -> SessionRecord:
    """The session if its model is readable by the caller; else 404."""
    record = training.status(session_id)
    if not can_read(caller, record.model_id, record.owner_id):
        raise NotFoundError(f"no training session with id {session_id!r}")
    return record


def managed_session(session_id: str, caller: CallerDep, training: TrainingDep) -> SessionRecord:
    """The session if the caller may pause, resume, step or stop it."""
    record = visible_session(session_id, caller, training)
    if not can_manage(caller, record.owner_id):
        raise refuse_shared(record.model_id)
    return record


ReadableModel = Annotated[ModelRecord, Depends(readable_model)]
OwnedModel = Annotated[ModelRecord, Depends(owned_model)]
VisibleSession = Annotated[SessionRecord, Depends(visible_session)]
ManagedSession = Annotated[SessionRecord, Depends(managed_session)]
