"""ASGI middleware that hardens every response and bounds every request body.

- Security headers on every HTTP response: a Content-Security-Policy that allows scripts only
  from this origin (no inline script, no remote origin; the plotly.js bundle injects styles, so
  inline *styles* are allowed), no framing, no MIME sniffing, no referrer to other origins.
- Request bodies over a byte bound are refused with 413 before they are read whole: at once when
  Content-Length says so, and as soon as a chunked body passes the bound otherwise; a body that
  stops arriving gets 408 after a timeout.
- 405 answers list every method the path supports in `Allow` (RFC 9110 §15.5.6).
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
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


# The routes whose JSON bodies are arrays of numbers (each parsed one by one): a smaller bound.
ARRAY_ROUTES = re.compile(r"^/api/v1/models/[^/]+/(forward|backward|connectivity)/?$")


class BodySizeLimitMiddleware:
    """Refuses a request body larger than its bound with 413, without reading it whole: a
    multipart upload may hold `max_upload_bytes` (the weights file plus 1 MiB for the form's
    other fields), an array route's body (ARRAY_ROUTES) `max_array_request_bytes`, any other
    body `max_request_bytes`. A body that stops arriving (no part of it for `body_timeout`
    seconds: shorter than its Content-Length, or a chunked body never ended) gets 408, and the
    connection is closed."""

    def __init__(
        self,
        app: ASGIApp,
        max_request_bytes: int,
        max_upload_bytes: int,
        max_array_request_bytes: int | None = None,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_array_request_bytes = max_array_request_bytes or max_request_bytes
        self.body_timeout = body_timeout

    def _bound(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, str]:
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/"):
            return self.max_upload_bytes + 2**20, "max_upload_bytes"
        array_bound = min(self.max_array_request_bytes, self.max_request_bytes)
        if ARRAY_ROUTES.match(scope.get("path", "")) and array_bound < self.max_request_bytes:
            return array_bound, "max_array_request_bytes"
        return self.max_request_bytes, "max_request_bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        limit, setting = self._bound(scope, headers)
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
        body_done = declared == b"0"

        async def counting_receive() -> Message:
            # Past the bound, the client gets its 413 at once, and the app is told the client
            # has gone: it stops reading, and whatever it answers is dropped.
            nonlocal received, answered, body_done
            if answered:
                return {"type": "http.disconnect"}
            if body_done:  # after the body, receive() waits for a disconnect: no timeout
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                answered = True
                if not app_started:
                    await send_json(send, 408, _too_slow(received, self.body_timeout))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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

        try:
            await self.app(scope, counting_receive, guarded_send)
        except ClientDisconnect:
            if not answered:
                raise  # the client did go: not this middleware's answer


def _too_slow(received: int, timeout: float) -> dict[str, Any]:
    return {
        "detail": f"body: no part of the request body came for {timeout:g} s after {received} "
        "bytes (shorter than its Content-Length?) (setting RNN_EXPLORER_BODY_TIMEOUT_SECONDS)",
        "field": "body",
        "limit": {"setting": "body_timeout_seconds", "value": timeout},
    }


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
