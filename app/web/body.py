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
through the interpreter's loop and yields the GIL every few milliseconds. The cyclic garbage
collector is paused while a parse runs: a large document is hundreds of thousands of new lists,
and each collection triggered by them walks them all while holding the GIL (tens of milliseconds
on every thread of the worker). JSON cannot make a reference cycle, so the pause leaves no garbage.

FastAPI cannot see a body it does not parse itself, so each route declares its body for OpenAPI
with `json_body_doc(Model)`; `app.web.openapi` adds the models' schemas to the components.
"""

import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
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


# A UTF-16 surrogate written as a JSON escape (\\ud800 … \\udfff): valid JSON, but a lone one
# is no character, and text holding it cannot be stored, encoded or shown.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnfitJSONError(ValueError):
    """JSON text the body cannot hold: nested too deeply, or with text that is not Unicode.
    `where`: the path of the offending value ("" for the whole body)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where, self.msg = where, message


def _first_lone_surrogate(document: Any) -> str | None:
    """The path of the first string (or key) in `document` holding a lone surrogate, or None."""
    todo: list[tuple[Any, str]] = [(document, "")]
    while todo:
        value, path = todo.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return f"{path}.{key!a}".lstrip(".")
                todo.append((item, f"{path}.{key}".lstrip(".")))
        elif isinstance(value, list):
            todo.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
    return None


_collector_lock = threading.Lock()
_parses_running = 0
_collector_was_enabled = True


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while any parse runs (parses in other threads overlap)."""
    global _parses_running, _collector_was_enabled
    with _collector_lock:
        if _parses_running == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _parses_running += 1
    try:
        yield
    finally:
        with _collector_lock:
            _parses_running -= 1
            if _parses_running == 0 and _collector_was_enabled:
                gc.enable()


def parse_json(raw: bytes | str) -> Any:
    """JSON text → Python values (NaN and ±Infinity become floats, for pydantic and to_array to
    refuse), yielding the GIL as it goes. Raises ValueError for text that is not JSON, nests
    deeper than the parser's recursion allows, or holds a lone UTF-16 surrogate."""
    try:
        with _collector_paused():
            document = json.loads(raw, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise UnfitJSONError(
            "", "the JSON nests too deeply (no field takes more than a few levels)"
        ) from None
    # A surrogate pair (\\ud83d\\ude00) decodes to one character; a lone half stays a surrogate.
    # UTF-8 bytes cannot hold one but as an escape; the walk runs only when an escape is there.
    # A regular expression over megabytes holds the GIL as long as the parse: look for "\\u" first.
    text = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    suspect = b"\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    if suspect or (isinstance(raw, str) and _SURROGATE.search(raw)):
        where = _first_lone_surrogate(document)
        if where is not None:
            raise UnfitJSONError(where, "text that is not valid Unicode (a lone surrogate)")
    return document


def is_json_type(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON: application/json, or a type ending in +json."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _raw_body(request: Request) -> bytes:
    # A page on another site can send text/plain or a form without asking the browser first,
    # never JSON: a JSON route reads JSON only.
    content_type = request.headers.get("content-type")
    if not is_json_type(content_type):
        raise HTTPException(
            415,
            f"content-type: the body must be application/json, not {content_type or 'unnamed'}",
        )
    return await request.body()


def _parser(model: type[Model]) -> Any:
    def parse(raw: Annotated[bytes, Depends(_raw_body)]) -> Model:
        # A plain function: FastAPI runs it in its thread pool, off the event loop.
        try:
            document = parse_json(raw)
        except UnfitJSONError as error:
            loc = ("body", *error.where.split(".")) if error.where else ("body",)
            raise RequestValidationError(
                [{"type": "value_error", "loc": loc, "msg": error.msg}]
            ) from None
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
