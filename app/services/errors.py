"""The services' own errors. Each says what is wrong and where; the web layer maps them (and the
engine's, the tasks' and the store's) to 4xx answers in one place, `app.web.errors`."""

from app.rnn.errors import shown
from app.store import NotFoundError

__all__ = ["ConflictError", "InputError", "LimitError", "NotFoundError"]


class InputError(ValueError):
    """A request value that cannot be used: `field` names where (e.g. "inputs[3]")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LimitError(InputError):
    """A size above a bound of the settings; `setting` names it (RNN_EXPLORER_<SETTING>).
    `status_code` is the answer's: 422 for a size in a request, 409 or 429 for a full service
    or an owner's quota, 413 for a body; `hint` (appended to the message) says what to do."""

    def __init__(
        self,
        field: str,
        what: str,
        setting: str,
        limit: float,
        got: float,
        status_code: int = 422,
        retry_after: int | None = None,
        hint: str = "",
    ) -> None:
        self.setting = setting
        self.limit = limit
        self.got = got
        self.status_code = status_code
        self.retry_after = retry_after  # seconds, for a 429 (its Retry-After header)
        super().__init__(
            field,
            f"{field}: {what} is {shown(got)}, above the limit of {limit:g} "
            f"(setting RNN_EXPLORER_{setting.upper()}){hint}",
        )


class ConflictError(RuntimeError):
    """A request that cannot be served in the current state (a finished session asked to resume,
    a session resumed elsewhere); `status_code` is 409 or 429, or 503 when no trainer could be
    started for a session."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code
