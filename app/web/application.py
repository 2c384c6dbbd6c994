"""The ASGI application: the services on the app's state, the routers, the middleware."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__
from app.services.lessons import LessonService
from app.services.limits import Limits
from app.services.models import ModelService
from app.services.stores import open_store
from app.services.sweeper import Sweeper
from app.services.tasks import TaskService
from app.services.training import TrainingService
from app.settings import Settings, extra_origins, get_settings, trusted_hosts
from app.web.assets import AssetFiles, RevalidatedFiles
from app.web.compression import COMPRESSION, AnswerCompression
from app.web.crosssite import CrossSiteMiddleware
from app.web.docs import install_docs
from app.web.errors import install_error_handlers
from app.web.middleware import (
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    install_method_not_allowed,
)
from app.web.openapi import install_openapi
from app.web.owners import OwnerMiddleware
from app.web.pages import STATIC_DIR
from app.web.pages import router as pages_router
from app.web.ratelimit import RateLimitMiddleware
from app.web.routes import (
    choices,
    generate,
    health,
    lessons,
    models,
    owners,
    presets,
    stream,
    tasks,
    training,
)
from app.web.stream_slots import StreamSlots

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if trusted_hosts(settings) == ["*"]:
            logger.warning(
                "serving any Host name on %s: set RNN_EXPLORER_ALLOWED_HOSTS to the names "
                "clients use (a page elsewhere can reach this server by DNS rebinding)",
                settings.host,
            )
        store = open_store(settings)
        if store.fault is not None:
            logger.error("read-only mode (GET /api/v1/health says so): %s", store.fault)
        sweeper = Sweeper(store, settings)
        sweeper.sweep()  # at start-up, then every sweep_seconds
        sweeper.start()
        limits = Limits(settings)
        tasks_service = TaskService(limits)
        training_service = TrainingService(store, settings, limits, tasks_service)
        training_service.reap()
        app.state.store = store
        app.state.models = ModelService(store, settings, limits)
        app.state.tasks = tasks_service
        app.state.lessons = LessonService(tasks_service)
        app.state.training = training_service
        try:
            yield
        finally:
            # Sessions first: they checkpoint into the store before it closes.
            sweeper.stop()
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
    app.state.stream_slots = StreamSlots(settings)
    app.state.stream_stats = app.state.stream_slots.stats
    install_error_handlers(app)
    routers = (health, choices, models, generate, tasks, presets, lessons, training, stream, owners)
    for router in routers:
        app.include_router(router.router)
    app.include_router(pages_router)
    app.state.assets = AssetFiles(STATIC_DIR)
    app.mount("/assets", app.state.assets, name="assets")
    app.mount("/static", RevalidatedFiles(directory=STATIC_DIR), name="static")
    install_openapi(app)
    install_docs(app)
    install_method_not_allowed(app)
    # The middleware added last runs first: every response gets the security headers, a 413
    # included; the body bound refuses what no route could accept before it is read whole; an
    # answer of 1 kB or more goes compressed by the fastest coding the client takes
    # (app.web.compression).
    # each owner and each client address within its rate (app.web.ratelimit), once known
    app.add_middleware(
        RateLimitMiddleware,
        per_owner=settings.rate_limit,
        per_address=settings.rate_limit_per_address,
    )
    # every request and WebSocket acts as an owner (app.web.owners): cookie, bearer or share
    app.add_middleware(OwnerMiddleware, settings=settings)
    app.add_middleware(AnswerCompression, **COMPRESSION)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_request_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_array_request_bytes=settings.max_array_request_bytes,
        body_timeout=settings.body_timeout_seconds,
    )
    # Before the body is read: a request another site's page sent (app.web.crosssite), and a
    # Host this server does not serve (DNS rebinding), are refused.
    app.add_middleware(CrossSiteMiddleware, extra_origins=extra_origins(settings))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(settings))
    app.add_middleware(SecurityHeadersMiddleware)
    return app
