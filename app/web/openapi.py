"""The OpenAPI document, with the WebSocket stream's messages among its components.

OpenAPI has no notation for WebSockets, so the stream's commands and frames are published as
component schemas (`StreamCommand`, `StreamFrame` and each message), versioned by the `v` field,
and described under `x-websocket` at the document's top level.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from app.services.limits import Limits
from app.services.tasks import TaskService
from app.settings import Settings
from app.web.body import BODY_MODELS
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.schemas.stream import (
    STREAM_MESSAGES,
    BackwardFrame,
    EndFrame,
    ErrorFrame,
    ForwardFrame,
    MetricsFrame,
    SessionFrame,
    StartFrame,
    StreamCommand,
    SummaryFrame,
)

__all__ = ["component_schemas", "install_openapi"]

StreamFrame = (
    StartFrame
    | ForwardFrame
    | BackwardFrame
    | SummaryFrame
    | MetricsFrame
    | SessionFrame
    | EndFrame
    | ErrorFrame
)
_REF = "#/components/schemas/{model}"


def component_schemas() -> dict[str, Any]:
    """JSON Schemas of every stream message and every request body that the routes parse
    themselves (`app.web.body`), keyed by name, with `$ref`s into components."""
    schemas: dict[str, Any] = {}
    unions: tuple[tuple[str, Any], ...] = (
        ("StreamCommand", StreamCommand),
        ("StreamFrame", StreamFrame),
    )
    for name, kind in unions:
        adapter: TypeAdapter[Any] = TypeAdapter(kind)
        schema = adapter.json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    for model in (*STREAM_MESSAGES, *BODY_MODELS.values()):
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _name_the_choices(document: dict[str, Any], tasks: TaskService) -> None:
    """The `{name}` of the task and preset routes as the enumeration of the names this
    service can serve (those whose default example fits its limits), so that a schema-valid
    name is one it accepts."""
    usable_tasks, usable_presets = tasks.usable()
    for path, operations in document.get("paths", {}).items():
        if path.startswith("/api/v1/tasks/{name}"):
            names = usable_tasks
        elif path.startswith("/api/v1/presets/{name}"):
            names = usable_presets
        else:
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "name":
                    parameter["schema"] = {"type": "string", "enum": names, "title": "Name"}


# (component schema, field) → the setting that bounds it from above, as the services check it.
_SETTING_BOUNDS: dict[tuple[str, str], str] = {
    ("ModelConfig", "input_size"): "max_input_size",
    ("ModelConfig", "hidden_size"): "max_hidden_size",
    ("ModelConfig", "output_size"): "max_output_size",
    ("ModelConfig", "num_layers"): "max_layers",
    ("SampleRequest", "batch_size"): "max_batch",
    ("TrainRequest", "batch_size"): "max_batch",
    ("TrainRequest", "steps"): "max_training_steps",
    ("TrainCommand", "batch_size"): "max_batch",
    ("TrainCommand", "steps"): "max_training_steps",
    ("BackwardRequest", "truncate"): "max_steps",
    ("RunCommand", "truncate"): "max_steps",
    ("TrainRequest", "truncate"): "max_steps",
    ("TrainCommand", "truncate"): "max_steps",
    ("TrainRequest", "report_every"): "max_training_steps",
    ("TrainCommand", "report_every"): "max_training_steps",
    ("GenerateRequest", "length"): "max_generate_length",
}


def _set_maximum(schema: dict[str, Any], maximum: int) -> None:
    """The integer (or the integer branch of an optional integer) gets `maximum`."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "integer":
            branch["maximum"] = maximum


def _bound_by_settings(document: dict[str, Any], settings: Settings) -> None:
    """The live settings' bounds as the schema's maxima: a size within the schema is a size
    this service accepts (the settings are read once, as the app starts)."""
    schemas = document.get("components", {}).get("schemas", {})
    for (name, field), setting in _SETTING_BOUNDS.items():
        prop = schemas.get(name, {}).get("properties", {}).get(field)
        if prop is not None:
            _set_maximum(prop, int(getattr(settings, setting)))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "batch_size":
                    _set_maximum(parameter["schema"], settings.max_batch)


def _add_a_character_model(document: dict[str, Any], tasks: TaskService) -> None:
    """A second model example, of the char_lm task's sizes (its vocabulary), so that the
    generate example has a model it fits."""
    config = tasks.get("char_lm").model_config()
    example = {
        "config": {key: config[key] for key in ("cell", "input_size", "output_size", "head")}
        | {"hidden_size": 32, "loss": config["loss"], "output_mode": config["output_mode"]},
        "name": "character model",
    }
    schema = document.get("components", {}).get("schemas", {}).get("CreateModelRequest")
    if schema is not None:
        schema.setdefault("examples", []).append(example)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                component_schemas()
            )
            tasks = TaskService(Limits(app.state.settings))
            _name_the_choices(document, tasks)
            _add_a_character_model(document, tasks)
            _bound_by_settings(document, app.state.settings)
            document["x-websocket"] = {
                "/api/v1/models/{model_id}/stream": {
                    "protocol_version": STREAM_PROTOCOL_VERSION,
                    "client_messages": {"$ref": _REF.format(model="StreamCommand")},
                    "server_messages": {"$ref": _REF.format(model="StreamFrame")},
                    "description": "Send a command; the server answers with frames: start, T "
                    "forward frames (t ascending), T backward frames (t descending), summary; "
                    "pause / resume / step / stop steer a run. follow (or train, which starts "
                    "a session first) sends metrics frames and an end frame. A run with "
                    '"format": "binary" sends its forward and backward frames as binary '
                    "messages in the binary trace layout (docs/api.md); every other message "
                    "is JSON text.",
                }
            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
