"""Shared dependencies: the settings, the store and the services, held on the app's state."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.api.service import ModelService
from app.config import Settings
from app.store import Store

__all__ = ["ModelsDep", "SettingsDep", "StoreDep", "get_models", "get_settings", "get_store"]


def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def get_store(connection: HTTPConnection) -> Store:
    store: Store = connection.app.state.store
    return store


def get_models(connection: HTTPConnection) -> ModelService:
    service: ModelService = connection.app.state.models
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ModelsDep = Annotated[ModelService, Depends(get_models)]
