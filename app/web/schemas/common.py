"""What every part of the API shares: arrays as nested lists, request bodies, error answers."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

__all__ = [
    "ERROR_RESPONSES",
    "STREAM_PROTOCOL_VERSION",
    "Choices",
    "ErrorResponse",
    "Health",
    "NumberArray",
    "NumberOrArray",
    "RequestBody",
    "Storage",
]

STREAM_PROTOCOL_VERSION = 1

_ARRAY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"anyOf": [{"type": "number"}, {"type": "array", "items": {}}]},
    "description": "an array as nested lists of numbers",
}
NumberArray = Annotated[list[Any], WithJsonSchema(_ARRAY_SCHEMA)]
NumberOrArray = Annotated[
    float | list[Any],
    WithJsonSchema({"anyOf": [{"type": "number"}, _ARRAY_SCHEMA]}),
]


class ErrorResponse(BaseModel):
    """Every 4xx answer: what is wrong and where; limit errors name the field and the bound."""

    detail: Any = Field(description="a message, or FastAPI's list of validation errors")
    field: str | None = None
    limit: dict[str, Any] | None = Field(None, examples=[{"setting": "max_steps", "value": 1000}])
    storage: dict[str, str] | None = Field(
        None,
        description="a storage fault (507 full, 503 read-only): fault, path, cause",
        examples=[{"fault": "full", "path": "/data/models", "cause": "No space left on device"}],
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 404, 409, 413, 415, 422, 429, 503, 507)
}


class Storage(BaseModel):
    """The data directory's state as the answering worker sees it."""

    mode: Literal["read-write", "read-only"] = Field(
        description="read-only: the store opened on a full or read-only data directory and has "
        "not been able to write since (reads are served, writes answer 507 or 503)"
    )
    writable: bool = Field(description="whether the data directory takes a write right now")
    fault: Literal["full", "read-only"] | None = None
    detail: str | None = Field(None, description="the path and the cause, when not writable")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    worker: int | None = Field(
        None, description="the answering worker's process id: for the instructor only"
    )
    storage: Storage | None = None


class Choices(BaseModel):
    """What GET /api/v1/choices answers: the page's menus and bounds."""

    model: dict[str, list[str]] = Field(description="each ModelConfig choice field's values")
    model_defaults: dict[str, Any] = Field(description="ModelConfig's defaults (sizes excepted)")
    model_bounds: dict[str, dict[str, int | float]] = Field(
        description="each numeric ModelConfig field's bounds: min, max, exclusive_min, ..."
    )
    cell_fields: dict[str, list[str]] = Field(
        description="fields only some cells have; any other cell keeps the field's default"
    )
    training: dict[str, list[str]] = Field(description="each TrainRequest choice field's values")
    limits: dict[str, int | float] = Field(description="the settings that bound a client's sizes")


class RequestBody(BaseModel):
    """Every request body and stream command: no unknown field, types strictly (a JSON `true` is
    not the integer 1, nor "3" the number 3), finite numbers only. Arrays (`NumberArray`) are
    checked element by element where they become NumPy arrays (`app.web.arrays`)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
