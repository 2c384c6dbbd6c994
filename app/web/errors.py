"""Domain errors → HTTP, in one place.

Every error is a 4xx JSON `{"detail": ...}` that says what is wrong and where; an error about one
field adds `field`, a limit error `limit` (the setting's name and value), so a client can tell
which bound it hit. A storage fault (a full or read-only data directory) answers 507 or 503 with
`storage` (fault, path, cause). The stream sends the same bodies as error frames.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.rnn.errors import RNNError
from app.services.errors import ConflictError, InputError, LimitError, NotFoundError
from app.store import StorageError

__all__ = ["DOMAIN_ERRORS", "error_body", "install_error_handlers", "validation_message"]

# What the services, the tasks, the engine and the store raise for a request that cannot be
# served; a ValidationError here is a domain model (ModelConfig, TrainingConfig) built by a
# service from a request's parts, not a request body (FastAPI answers those itself).
DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    InputError,
    NotFoundError,
    ConflictError,
    RNNError,
    ValidationError,
    StorageError,
)


def validation_message(
    error: ValidationError, prefix: str = "", whole: str = "body"
) -> tuple[str, str]:
    """(field, message) of a ValidationError's first problem: e.g. ("config.cell", "config.cell:
    Input should be 'rnn', 'lstm' or 'gru'"); `whole` names a problem of the whole value."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "") or whole
    return field, f"{field}: {first['msg']}"


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body for a domain error."""
    if isinstance(error, LimitError):
        return error.status_code, {
            "detail": str(error),
            "field": error.field,
            "limit": {"setting": error.setting, "value": error.limit},
        }
    if isinstance(error, InputError):
        return 422, {"detail": str(error), "field": error.field}
    if isinstance(error, ValidationError):
        field, message = validation_message(error)
        return 422, {"detail": message, "field": field}
    if isinstance(error, NotFoundError):
        return 404, {"detail": str(error.args[0]) if error.args else "not found"}
    if isinstance(error, ConflictError):
        return error.status_code, {"detail": str(error)}
    if isinstance(error, StorageError):
        return error.status_code, {
            "detail": str(error),
            "storage": {"fault": error.fault, "path": str(error.path), "cause": error.cause},
        }
    if isinstance(error, RNNError):
        return 422, {"detail": str(error)}
    raise TypeError(f"not a domain error: {type(error).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    """Map every domain error to its 4xx answer."""

    async def handle(request: Request, error: Exception) -> JSONResponse:
        status_code, body = error_body(error)
        retry = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(body, status_code=status_code, headers=headers)

    for kind in DOMAIN_ERRORS:
        app.add_exception_handler(kind, handle)
