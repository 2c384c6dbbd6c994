"""405 answers that list every method the path supports in `Allow` (RFC 9110 §15.5.6).

Starlette stops at the first route whose path matches, so a path served by two routes (GET and
POST on /api/v1/models) would answer `Allow: POST` alone. This handler collects the methods of
every route whose path matches.
"""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Route


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of `app` serves at `path`, sorted; HEAD wherever GET is."""
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_method_not_allowed(app: FastAPI) -> None:
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
