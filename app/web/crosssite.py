"""Refusing what another web site asks a browser to send here.

A page on another origin can make the browser open a WebSocket here and send "simple" requests
(a form, or a `fetch` with `Content-Type: text/plain`) without asking first; the browser marks
them with `Origin` and `Sec-Fetch-Site`. This module says which origins are this service's own
and refuses the rest:

- `origin_allowed`: an `Origin` is allowed when its host:port is the `Host` the request came to
  (the page's own origin), or when it is listed in RNN_EXPLORER_ALLOWED_ORIGINS. `null` (a
  sandboxed frame, a file) never is. No `Origin` at all is a client that is no browser (curl, a
  script): allowed.
- `CrossSiteMiddleware`: a request that changes state (POST, PUT, PATCH, DELETE) is refused with
  403 when its `Origin` is present and not allowed, or, without a listed origin, when its
  `Sec-Fetch-Site` is `cross-site`; and with 415 when its body is `text/plain` or a URL-encoded
  form, types no route takes (JSON routes refuse other types in `app.web.body`).

The WebSocket stream checks its `Origin` itself (`app.web.routes.stream`), to close with a code.
"""

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette._utils import parse_host_header

from app.web.middleware import send_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ORIGIN_REFUSED_CODE", "CrossSiteMiddleware", "origin_allowed"]

# The WebSocket close code of a stream whose Origin is refused (4000 + the HTTP status).
ORIGIN_REFUSED_CODE = 4403

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The body types a cross-site page can send without a CORS preflight, save multipart (the
# weights upload takes it). No route here reads them.
SIMPLE_TYPES = ("text/plain", "application/x-www-form-urlencoded")

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def origin_allowed(origin: str | None, host: str | None, extra: Iterable[str]) -> bool:
    """Whether a request with header `Origin: origin` that came to header `Host: host` may go
    on; `extra`: the listed origins, lower-cased without a trailing slash."""
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin in extra:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or host is None:
        return False  # "null", or nothing like scheme://host
    served = parse_host_header(host)
    if served is None:
        return False
    try:
        origin_port = str(parts.port) if parts.port is not None else None
    except ValueError:
        return False
    netloc_host = parts.netloc.rpartition("@")[2]
    origin_host = netloc_host.rsplit(":", 1)[0] if origin_port else netloc_host
    if origin_host.lower() != served.host.lower():
        return False
    # A Host without a port names the scheme's default one; behind a TLS proxy the scheme the
    # server sees is not the page's, so a default port matches either scheme's default.
    if served.port is None:
        return origin_port is None or origin_port == _DEFAULT_PORTS[parts.scheme]
    return (origin_port or _DEFAULT_PORTS[parts.scheme]) == served.port


class CrossSiteMiddleware:
    """Refuses state-changing requests another site's page sent (403), and bodies of a type no
    route takes (415); see the module's docstring."""

    def __init__(self, app: ASGIApp, extra_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.extra = frozenset(extra_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        origin = _text(headers.get(b"origin"))
        host = _text(headers.get(b"host"))
        if not origin_allowed(origin, host, self.extra):
            await _reject(
                send,
                403,
                f"origin: {scope['method']} from origin {origin!r} is refused: only this "
                "page's own origin (or one in RNN_EXPLORER_ALLOWED_ORIGINS) may change state",
                "origin",
            )
            return
        listed = origin is not None and origin.strip().lower().rstrip("/") in self.extra
        if _text(headers.get(b"sec-fetch-site")) == "cross-site" and not listed:
            await _reject(
                send,
                403,
                f"sec-fetch-site: a cross-site {scope['method']} is refused (the browser says "
                "another site's page sent it)",
                "sec-fetch-site",
            )
            return
        media_type = (_text(headers.get(b"content-type")) or "").split(";")[0].strip().lower()
        if media_type in SIMPLE_TYPES:
            await _reject(
                send,
                415,
                f"content-type: {media_type} is not accepted; send application/json (or no body)",
                "content-type",
            )
            return
        await self.app(scope, receive, send)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _reject(send: Send, status: int, detail: str, field: str) -> None:
    await send_json(send, status, {"detail": detail, "field": field})
