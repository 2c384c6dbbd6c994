"""The explorer page, on versioned asset URLs (`app.web.assets`; plotly.js is served from the
installed plotly package, never from a CDN)."""

from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.web.assets import plotly_router, plotly_url
from app.web.middleware import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
FAVICON = STATIC_DIR / "favicon.svg"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(include_in_schema=False)
router.include_router(plotly_router(PLOTLY_JS, plotly.__version__))


PLOTLY_VERSION = plotly.__version__


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    assets = request.app.state.assets

    def asset(path: str) -> str:
        return str(assets.url(request, path))

    context = {"asset": asset, "plotly_js": plotly_url(PLOTLY_VERSION)}
    response = templates.TemplateResponse(request, "index.html", context)
    response.headers["Cache-Control"] = "no-cache"  # it names the current asset versions
    # Also set here, so the page is strict even where the site-wide middleware is not installed.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(FAVICON, media_type="image/svg+xml")
