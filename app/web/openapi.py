"""The OpenAPI document, with the WebSocket stream's messages among its components.

OpenAPI has no notation for WebSockets, so the stream's commands and frames are published as
component schemas (`StreamCommand`, `StreamFrame` and each message), versioned by the `v` field,
and described under `x-websocket` at the document's top level.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

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
            document["x-websocket"] = {
                "/api/v1/models/{model_id}/stream": {
                    "protocol_version": STREAM_PROTOCOL_VERSION,
                    "client_messages": {"$ref": _REF.format(model="StreamCommand")},
                    "server_messages": {"$ref": _REF.format(model="StreamFrame")},
                    "description": "Send a command; the server answers with frames: start, T "
                    "forward frames (t ascending), T backward frames (t descending), summary; "
                    "pause / resume / step / stop steer a run. follow (or train, which starts "
                    "a session first) sends metrics frames and an end frame.",
                }
            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
