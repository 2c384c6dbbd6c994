"""Rate limits on the API, per owner and per client address, with the `limits` library.

Every request to /api/ (the health check excepted) and every stream connection counts once
against its owner's limit (`RNN_EXPLORER_RATE_LIMIT`) and its client address's
(`RNN_EXPLORER_RATE_LIMIT_PER_ADDRESS`, for all the owners one address makes); over either, the
answer is 429 with `Retry-After`, the seconds until the moving window has room again. The
instructor has no limit. The windows live in the worker's memory: with N workers a client may
make up to N times the limit (each worker counts what it serves).
"""

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.owners import Caller

__all__ = ["RateLimitMiddleware", "parse_rate"]

EXEMPT = ("/api/v1/health",)


def parse_rate(text: str, setting: str) -> RateLimitItem:
    """A rate in the `limits` notation ("600/minute", "10 per second"); ValueError names the
    setting."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(
            f"RNN_EXPLORER_{setting.upper()}={text!r} is not a rate such as '600/minute'"
        ) from None


class RateLimitMiddleware:
    """Counts each API request against its owner's and its address's moving windows."""

    def __init__(self, app: ASGIApp, per_owner: str, per_address: str) -> None:
        self.app = app
        self.per_owner = parse_rate(per_owner, "rate_limit")
        self.per_address = parse_rate(per_address, "rate_limit_per_address")
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if path in EXEMPT:
            await self.app(scope, receive, send)
            return
        caller: Caller | None = scope.get("state", {}).get("caller")
        if caller is not None and caller.instructor:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        checks = [(self.per_address, f"address:{address}", "rate_limit_per_address")]
        if caller is not None and caller.owner:
            checks.append((self.per_owner, f"owner:{caller.owner}", "rate_limit"))
        for item, key, setting in checks:
            if not self.limiter.hit(item, key):
                await self._refuse(scope, receive, send, item, key, setting)
                return
        await self.app(scope, receive, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        item: RateLimitItem,
        key: str,
        setting: str,
    ) -> None:
        reset = self.limiter.get_window_stats(item, key).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        who = "this client address" if key.startswith("address:") else "your owner identity"
        detail = (
            f"too many requests from {who}: at most {item} "
            f"(setting RNN_EXPLORER_{setting.upper()}); retry in {retry} s"
        )
        if scope["type"] == "websocket":
            # refused before the handshake: the browser sees the socket close (HTTP 403)
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:123]})
            return
        response = JSONResponse(
            {"detail": detail, "field": None, "limit": {"setting": setting, "value": str(item)}},
            status_code=429,
            headers={"Retry-After": str(retry)},
        )
        await response(scope, receive, send)
