"""JSON request bodies, parsed and validated by pydantic in a worker thread.

`json_body(Model)` is a route parameter's dependency: the body's bytes are read on the event loop
(its size is already bounded by `BodySizeLimitMiddleware`), then parsed and validated by pydantic
strictly (`true` is not 1, "3" is not 3; NaN, Infinity and 1e999 are refused wherever a number
field stands) in FastAPI's thread pool. Numbers inside arrays (`list[Any]` fields) are checked for
finiteness where the arrays are built (`app.web.arrays.to_array`).

A body of many megabytes takes a while to parse, and the worker must keep answering meanwhile.
A thread alone does not do it: C and Rust JSON parsers (the standard library's scanner,
pydantic's) hold the GIL for a whole document, and the event loop's thread waits that long.
`parse_json` gives the standard parser a Python-level hook for every number, so the parse passes
through the interpreter's loop and yields the GIL every few milliseconds.

FastAPI cannot see a body it does not parse itself, so each route declares its body for OpenAPI
with `json_body_doc(Model)`; `app.web.openapi` adds the models' schemas to the components.
"""

import json
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["BODY_MODELS", "json_body", "json_body_doc", "parse_json"]

Model = TypeVar("Model", bound=BaseModel)

# Every model a route takes as its body, for the OpenAPI components.
BODY_MODELS: dict[str, type[BaseModel]] = {}


def _float(text: str) -> float:
    return float(text)


def _int(text: str) -> int:
    return int(text)


def parse_json(raw: bytes | str) -> Any:
    """JSON text → Python values (NaN and ±Infinity become floats, for pydantic and to_array to
    refuse), yielding the GIL as it goes. Raises ValueError for text that is not JSON."""
    return json.loads(raw, parse_float=_float, parse_int=_int)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _parser(model: type[Model]) -> Any:
    def parse(raw: Annotated[bytes, Depends(_raw_body)]) -> Model:
        # A plain function: FastAPI runs it in its thread pool, off the event loop.
        try:
            document = parse_json(raw)
        except ValueError as error:  # JSONDecodeError, bad UTF-8, an integer of 5000 digits
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", getattr(error, "pos", 0)),
                        "msg": f"JSON decode error: {getattr(error, 'msg', str(error))}",
                    }
                ]
            ) from None
        try:
            return model.model_validate(document, strict=True)
        except ValidationError as error:
            raise RequestValidationError(
                [
                    {
                        "type": problem["type"],
                        "loc": ("body", *problem["loc"]),
                        "msg": problem["msg"],
                    }
                    for problem in error.errors(include_url=False)
                ]
            ) from None

    return parse


def json_body(model: type[Model]) -> Any:
    """The dependency of a route's body parameter:
    `body: Annotated[ForwardRequest, json_body(ForwardRequest)]`."""
    BODY_MODELS[model.__name__] = model
    return Depends(_parser(model))


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The route's `openapi_extra`: its JSON request body, the model's schema."""
    BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
