"""Owners: a bearer token for the caller's owner identity (docs/api.md, "Owners")."""

import secrets

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.web.deps import CallerDep
from app.web.owners import hash_token
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.models import TokenInfo

router = APIRouter(prefix="/api/v1", tags=["owners"], responses=ERROR_RESPONSES)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(request: Request, caller: CallerDep) -> TokenInfo:
    """A bearer token acting as the caller's owner (`Authorization: Bearer <token>`): shown
    once, only its SHA-256 is kept. Call it from the browser (its cookie) or with a token."""
    token = secrets.token_urlsafe(32)
    await run_in_threadpool(request.app.state.store.create_token, hash_token(token), caller.owner)
    return TokenInfo(token=token, owner=caller.owner)
