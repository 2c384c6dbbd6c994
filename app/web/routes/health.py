"""Liveness: the version and the answering worker."""

import os

from fastapi import APIRouter

from app import __version__
from app.web.schemas.common import Health

router = APIRouter(prefix="/api/v1", tags=["meta"])


@router.get("/health")
def health() -> Health:
    """Liveness, version and the answering worker's process id."""
    return Health(version=__version__, worker=os.getpid())
