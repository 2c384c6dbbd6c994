"""ASGI middleware that hardens every response and bounds every request body.

- Security headers on every HTTP response: a Content-Security-Policy that allows scripts only
  from this origin (no inline script, no remote origin; the plotly.js bundle injects styles, so
  inline *styles* are allowed), no framing, no MIME sniffing, no referrer to other origins.
- Request bodies over a byte bound are refused with 413 before they are read whole: at once when
  Content-Length says so, and as soon as a chunked body passes the bound otherwise.
- 405 answers list every method the path supports in `Allow` (RFC 9110 §15.5.6).
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Route

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response (unless a route set its own value)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses a request body larger than its bound with 413, without reading it whole: a
    multipart upload may hold `max_upload_bytes` (the weights file plus 1 MiB for the form's
    other fields), any other body `max_request_bytes`."""

    def __init__(self, app: ASGIApp, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/"):
            limit, setting = self.max_upload_bytes + 2**20, "max_upload_bytes"
        else:
            limit, setting = self.max_request_bytes, "max_request_bytes"
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json(send, 400, {"detail": "Content-Length is not a number"})
                return
            if size > limit:
                await send_json(send, 413, _too_large(size, limit, setting))
                return
        received = 0
        answered = False
        app_started = False

        async def counting_receive() -> Message:
            # Past the bound, the client gets its 413 at once, and the app is told the client
            # has gone: it stops reading, and whatever it answers is dropped.
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not app_started:
                    answered = True
                    await send_json(send, 413, _too_large(received, limit, setting))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started
            if answered:
                return
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def _too_large(size: int, limit: int, setting: str) -> dict[str, Any]:
    """The body of a 413, shaped as every limit error is (see app.web.errors)."""
    return {
        "detail": f"body: the request body of {size} bytes is above the limit of {limit} bytes "
        f"(setting RNN_EXPLORER_{setting.upper()})",
        "field": "body",
        "limit": {"setting": setting, "value": limit},
    }


async def send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    """Answer from a middleware, before any route: `content` as a JSON response."""
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of `app` serves at `path`, sorted; HEAD wherever GET is.

    Starlette stops at the first route whose path matches, so a path served by two routes (GET
    and POST on /api/v1/models) would answer `Allow: POST` alone."""
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_method_not_allowed(app: FastAPI) -> None:
    """405 answers whose `Allow` lists the methods of every route at the path."""

    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code != 405:
            return await http_exception_handler(request, error)
        methods = allowed_methods(app, request.url.path)
        return JSONResponse(
            {"detail": f"{request.method} is not allowed here; allowed: {', '.join(methods)}"},
            status_code=405,
            headers={"Allow": ", ".join(methods)},
        )

    app.add_exception_handler(HTTPException, handle)
