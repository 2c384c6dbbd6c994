"""Domain exceptions → HTTP, in one place.

Every error is a 4xx JSON `{"detail": ...}` that says what is wrong and where; a limit error adds
`field` and `limit` (the setting's name and value), so a client can tell which bound it hit.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.rnn.errors import RNNError
from app.store import NotFoundError

__all__ = [
    "ConflictError",
    "InputError",
    "LimitError",
    "install_error_handlers",
]


class InputError(ValueError):
    """A request value that cannot be used: `field` names where (e.g. "inputs[3]")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LimitError(InputError):
    """A size above a bound of the settings; `setting` names it (RNN_EXPLORER_<SETTING>)."""

    def __init__(
        self,
        field: str,
        what: str,
        setting: str,
        limit: float,
        got: float,
        status_code: int = 422,
    ) -> None:
        self.setting = setting
        self.limit = limit
        self.got = got
        self.status_code = status_code
        super().__init__(
            field,
            f"{field}: {what} is {got:g}, above the limit of {limit:g} "
            f"(setting RNN_EXPLORER_{setting.upper()})",
        )


class ConflictError(RuntimeError):
    """A request that cannot be served in the current state (too many sessions, a finished
    session asked to resume); `status_code` is 409 or 429."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body for a domain error (also used by the WebSocket)."""
    if isinstance(error, LimitError):
        return error.status_code, {
            "detail": str(error),
            "field": error.field,
            "limit": {"setting": error.setting, "value": error.limit},
        }
    if isinstance(error, InputError):
        return 422, {"detail": str(error), "field": error.field}
    if isinstance(error, NotFoundError):
        return 404, {"detail": str(error.args[0]) if error.args else "not found"}
    if isinstance(error, ConflictError):
        return error.status_code, {"detail": str(error)}
    if isinstance(error, RNNError):
        return 422, {"detail": str(error)}
    raise TypeError(f"not a domain error: {type(error).__name__}")


DOMAIN_ERRORS: tuple[type[Exception], ...] = (InputError, NotFoundError, ConflictError, RNNError)


def install_error_handlers(app: FastAPI, extra: tuple[type[Exception], ...] = ()) -> None:
    """Map every domain error (and `extra` ones, e.g. the tasks' errors) to its 4xx answer."""

    async def handle(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, extra) and not isinstance(error, DOMAIN_ERRORS):
            return JSONResponse({"detail": str(error)}, status_code=422)
        status_code, body = error_body(error)
        return JSONResponse(body, status_code=status_code)

    for kind in (*DOMAIN_ERRORS, *extra):
        app.add_exception_handler(kind, handle)
