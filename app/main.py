"""The ASGI application: `app.main:app`, built by `create_app()`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api.errors import install_error_handlers
from app.api.openapi import install_openapi
from app.api.routes import models, stream
from app.api.schemas import Health
from app.api.service import ModelService
from app.api.streaming import StreamStats
from app.config import Settings, get_settings
from app.pages import STATIC_DIR
from app.pages import router as pages_router
from app.store import SQLiteStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = SQLiteStore(settings.data_dir)
        app.state.store = store
        app.state.models = ModelService(store, settings)
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="RNN Explorer",
        version=__version__,
        lifespan=lifespan,
        description="Watch a recurrent neural network think: forward and backward passes, "
        "per-timestep traces, live training. See docs/api.md for the WebSocket protocol.",
    )
    app.state.settings = settings
    app.state.stream_stats = StreamStats()
    install_error_handlers(app)

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> Health:
        """Liveness and version."""
        return Health(version=__version__)

    app.include_router(models.router)
    app.include_router(stream.router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_openapi(app)
    return app


app = create_app()
