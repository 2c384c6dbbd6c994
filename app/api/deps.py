"""Shared dependencies: the settings, the store and the services, held on the app's state."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.api.service import ModelService
from app.api.tasks import TaskService
from app.api.training import TrainingService
from app.config import Settings
from app.store import Store

__all__ = [
    "ModelsDep",
    "SettingsDep",
    "StoreDep",
    "TasksDep",
    "TrainingDep",
    "get_models",
    "get_settings",
    "get_store",
    "get_tasks",
    "get_training",
]


def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def get_store(connection: HTTPConnection) -> Store:
    store: Store = connection.app.state.store
    return store


def get_models(connection: HTTPConnection) -> ModelService:
    service: ModelService = connection.app.state.models
    return service


def get_tasks(connection: HTTPConnection) -> TaskService:
    service: TaskService = connection.app.state.tasks
    return service


def get_training(connection: HTTPConnection) -> TrainingService:
    service: TrainingService = connection.app.state.training
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ModelsDep = Annotated[ModelService, Depends(get_models)]
TasksDep = Annotated[TaskService, Depends(get_tasks)]
TrainingDep = Annotated[TrainingService, Depends(get_training)]
