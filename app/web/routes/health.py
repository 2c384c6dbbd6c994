"""Liveness: the version, the answering worker and the data directory's state."""

import os

from fastapi import APIRouter, Request

from app import __version__
from app.store import Store, fault_of_directory
from app.web.deps import CallerDep
from app.web.schemas.common import Health, Storage

router = APIRouter(prefix="/api/v1", tags=["meta"])


def storage_of(store: Store | None, data_dir: str) -> Storage | None:
    """The store's mode and whether the data directory takes a write now (one statvfs)."""
    if store is None:
        return None
    if store.fault is not None:
        return Storage(
            mode="read-only", writable=False, fault=store.fault.fault, detail=str(store.fault)
        )
    found = fault_of_directory(data_dir)
    if found is None:
        return Storage(mode="read-write", writable=True)
    fault, cause = found
    return Storage(mode="read-write", writable=False, fault=fault, detail=f"{data_dir}: {cause}")


@router.get("/health")
async def health(request: Request, caller: CallerDep) -> Health:
    """Liveness, version and the data directory's state; for the instructor also the answering
    worker's process id, which no one else learns (answered on the event loop: no request
    waiting for a thread delays it)."""
    store = getattr(request.app.state, "store", None)
    storage = storage_of(store, str(request.app.state.settings.data_dir))
    worker = os.getpid() if caller.instructor else None
    return Health(version=__version__, worker=worker, storage=storage)
