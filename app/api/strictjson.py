"""Request bodies as the contract wants them: bounded in bytes, and strict JSON.

Python's json module accepts NaN, Infinity and -Infinity (and turns 1e999 into inf); nothing
invalid may reach NumPy, so `StrictJSONRoute` parses JSON bodies itself, refuses non-finite
numbers with a 422 naming the field (e.g. body → inputs → 3 → 0), and hands the parsed body to
FastAPI. Bodies above the settings' byte limit are refused with 413 before they are read whole.
"""

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from app.api.errors import LimitError

__all__ = ["THREAD_PARSE_BYTES", "StrictJSONRoute", "find_non_finite", "strict_loads"]


class _NonFinite:
    def __init__(self, text: str) -> None:
        self.text = text


def _parse_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def find_non_finite(
    value: Any, path: tuple[str | int, ...] = ()
) -> tuple[tuple[str | int, ...], str] | None:
    """The path and text of the first non-finite number in a parsed document, if any."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _NonFinite):
            return where, item.text
        if isinstance(item, dict):
            stack.extend((v, (*where, k)) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            if (
                item
                and isinstance(item[0], (int, float))
                and all(type(v) in (int, float) for v in item)
            ):
                continue
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(item))))
    return None


def strict_loads(data: bytes | str) -> Any:
    """json.loads that refuses NaN/Infinity/overflowing numbers: raises ValueError naming the
    path in `path.to[3]` form."""
    document = json.loads(data, parse_constant=_NonFinite, parse_float=_parse_float)
    found = find_non_finite(document)
    if found is not None:
        where, text = found
        raise ValueError(f"{_path_text(where)}: {text} is not a finite number")
    return document


def _path_text(where: tuple[str | int, ...]) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class StrictJSONRoute(APIRoute):
    """An APIRoute whose request body is size-bounded and parsed as strict JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                await _read_bounded(request)
                if _is_json(request):
                    await _parse_strict(request)
            return await handler(request)

        return strict_handler


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in ("", "application/json") or content_type.endswith("+json")


async def _read_bounded(request: Request) -> None:
    settings = request.app.state.settings
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    # An upload carries the weights file plus a small config; a JSON body has its own bound.
    limit, setting = (
        (settings.max_upload_bytes + 2**20, "max_upload_bytes")
        if multipart
        else (settings.max_request_bytes, "max_request_bytes")
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise LimitError("body", "the size in bytes", setting, limit, int(declared), 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LimitError("body", "the size in bytes", setting, limit, size, 413)
        chunks.append(chunk)
    request._body = b"".join(chunks)


# Above this many bytes a body is parsed in a worker thread, so one large request does not hold
# the event loop (every other connection of the worker) for the whole parse.
THREAD_PARSE_BYTES = 64 * 1024


def _loads(body: bytes) -> Any:
    return json.loads(body, parse_constant=_NonFinite, parse_float=_parse_float)


async def _parse_strict(request: Request) -> None:
    body = await request.body()
    if not body:
        return
    try:
        if len(body) > THREAD_PARSE_BYTES:
            document = await run_in_threadpool(_loads, body)
        else:
            document = _loads(body)
    except ValueError as error:  # JSONDecodeError, bad UTF-8, an integer of 5000 digits
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", getattr(error, "pos", 0)),
                    "msg": f"JSON decode error: {getattr(error, 'msg', str(error))}",
                    "input": {},
                }
            ]
        ) from None
    if len(body) > THREAD_PARSE_BYTES:
        found = await run_in_threadpool(find_non_finite, document)
    else:
        found = find_non_finite(document)
    if found is not None:
        where, text = found
        raise RequestValidationError(
            [
                {
                    "type": "finite_number",
                    "loc": ("body", *where),
                    "msg": f"{text} is not allowed: numbers must be finite "
                    f"(at {_path_text(where)})",
                    "input": text,
                }
            ]
        )
    request._json = document
