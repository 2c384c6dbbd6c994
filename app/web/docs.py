"""The interactive API reference at /docs, served entirely from this origin.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script, which the
Content-Security-Policy forbids (and which fails offline). Here Swagger UI 5 (it reads OpenAPI 3.1)
comes from the `swagger-ui-py` package and a static script, `static/docs/init.js`, starts it: /docs
works in a classroom without internet, under the same policy as the explorer page.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.web.pages import TEMPLATES_DIR

SWAGGER_UI_DIR = Path(str(files("swagger_ui") / "static"))
ASSETS_PATH = "/docs/assets"

_templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    """Swagger UI over this app's OpenAPI document."""
    return _templates.TemplateResponse(
        request,
        "docs.html",
        {"assets": ASSETS_PATH, "openapi_url": request.app.openapi_url or "/openapi.json"},
    )


def install_docs(app: FastAPI) -> None:
    """Serve /docs and the Swagger UI files it needs (the app must be built with docs_url=None)."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")
