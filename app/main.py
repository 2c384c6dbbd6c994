"""The ASGI application `app.main:app`, built by `app.web.application.create_app()`."""

from app.web.application import create_app

__all__ = ["app", "create_app"]

app = create_app()
