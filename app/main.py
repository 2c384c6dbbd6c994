"""The ASGI application: `app.main:app`, built by `create_app()`."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api.errors import install_error_handlers
from app.api.openapi import install_openapi
from app.api.routes import choices, models, presets, stream, tasks, training
from app.api.schemas import Health
from app.api.service import ModelService
from app.api.streaming import StreamStats
from app.api.tasks import TaskService
from app.api.training import TrainingService
from app.config import Settings, get_settings
from app.docs import install_docs
from app.methods import install_method_not_allowed
from app.pages import STATIC_DIR
from app.pages import router as pages_router
from app.security import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from app.store import SQLiteStore


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = SQLiteStore(settings.data_dir)
        models_service = ModelService(store, settings)
        tasks_service = TaskService(models_service.limits)
        training_service = TrainingService(store, settings, models_service.limits, tasks_service)
        training_service.reap()
        app.state.store = store
        app.state.models = models_service
        app.state.tasks = tasks_service
        app.state.training = training_service
        app.state.sampler = tasks_service.sampler
        try:
            yield
        finally:
            # Sessions first: they checkpoint into the store before it closes.
            training_service.shutdown()
            store.close()

    app = FastAPI(
        title="RNN Explorer",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Watch a recurrent neural network think: forward and backward passes, "
        "per-timestep traces, live training. See docs/api.md for the WebSocket protocol.",
    )
    app.state.settings = settings
    app.state.stream_stats = StreamStats()
    install_error_handlers(app)

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> Health:
        """Liveness, version and the answering worker's process id."""
        return Health(version=__version__, worker=os.getpid())

    app.include_router(choices.router)
    app.include_router(models.router)
    app.include_router(tasks.router)
    app.include_router(presets.router)
    app.include_router(training.router)
    app.include_router(stream.router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_openapi(app)
    install_docs(app)
    install_method_not_allowed(app)
    # The middleware added last runs first: every response gets the security headers, a 413
    # included; the body bound refuses what no route could accept (the largest body is an
    # upload) before it is read whole.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes + 2**20)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


app = create_app()
