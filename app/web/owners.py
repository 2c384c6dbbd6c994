"""Who is asking: an owner identity for every request and WebSocket, and what it may touch.

A browser gets an anonymous owner on its first visit: a random id in a signed (HMAC-SHA256),
HttpOnly, SameSite=Lax cookie. An API client sends `Authorization: Bearer <token>` (a token from
POST /api/v1/tokens acts as the owner that made it; the instructor token from the settings sees
and manages everything). A share link's token (`X-Share-Token` header or `share=` query) lets
its holder read one model. A cookie that fails its signature is ignored: a fresh owner, never
another's identity.
"""

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.errors import ConflictError
from app.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "COOKIE",
    "Caller",
    "OwnerMiddleware",
    "can_manage",
    "can_read",
    "hash_token",
    "refuse_shared",
    "secret_of",
    "share_token",
]

COOKIE = "rnn_owner"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie
SHARE_PREFIX = "share1"


@dataclass(frozen=True)
class Caller:
    """The identity a request acts as: its owner id, whether it is the instructor, and the
    model (if any) a share token it carries lets it read."""

    owner: str
    instructor: bool = False
    shared_model: str | None = None


def can_manage(caller: Caller, owner_id: str) -> bool:
    """May `caller` see, change, train and delete a thing owned by `owner_id`? ("" is nobody's
    but the instructor's.)"""
    return caller.instructor or (owner_id != "" and hmac.compare_digest(owner_id, caller.owner))


def can_read(caller: Caller, model_id: str, owner_id: str) -> bool:
    """May `caller` read (get, forward, backward, weights, stream) model `model_id`?"""
    return can_manage(caller, owner_id) or caller.shared_model == model_id


def refuse_shared(model_id: str) -> ConflictError:
    """The 403 for a share link's holder asking to change a model."""
    return ConflictError(
        f"model {model_id!r} is shared with you read-only: a share link cannot delete, train "
        "or change it",
        status_code=403,
    )


def secret_of(settings: Settings) -> bytes:
    """The signing key: the setting, else data_dir/secret.key (made once, random, mode 0600)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    try:
        return _stored_secret(path)
    except OSError as error:
        # a read-only (or full) data directory without a key yet: this process's own key,
        # so cookies last as long as it does
        logger.error("no signing key at %s (%s): using a key of this process only", path, error)
        return secrets.token_hex(32).encode()


def _stored_secret(path: Path) -> bytes:
    """data_dir/secret.key, made if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # written whole under a temporary name, then linked: a worker starting at the same
        # moment finds either no key or the whole key, and the first link wins
        temporary = path.with_name(f".secret.key.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_hex(32).encode())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink()
    return path.read_bytes().strip()


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _unsign(secret: bytes, purpose: str, signed: str) -> str | None:
    value, _, mac = signed.rpartition(".")
    if not value or not hmac.compare_digest(mac, _mac(secret, purpose, value)):
        return None
    return value


def share_token(secret: bytes, model_id: str) -> str:
    """A capability to read model `model_id`: its id, signed."""
    return f"{SHARE_PREFIX}.{model_id}.{_mac(secret, 'share', model_id)}"


def _shared_model(secret: bytes, token: str) -> str | None:
    prefix, _, signed = token.partition(".")
    return _unsign(secret, "share", signed) if prefix == SHARE_PREFIX else None


def hash_token(token: str) -> str:
    """What the store keeps of a bearer token (SHA-256: the token is 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class OwnerMiddleware:
    """Puts a `Caller` on `scope["state"]["caller"]` for every HTTP request and WebSocket;
    sets the owner cookie on the answer of a browser that had none (or a forged one)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.secret = secret_of(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        share = headers.get("x-share-token") or (query.get("share") or [""])[0]
        shared = _shared_model(self.secret, share) if share else None
        cookie_owner = self._cookie_owner(headers.get("cookie", ""))
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        new_cookie: str | None = None
        if scheme.lower() == "bearer" and bearer.strip():
            caller = await self._bearer(scope, bearer.strip(), shared)
            if caller is None:
                if scope["type"] == "http":
                    answer = JSONResponse(
                        {"detail": "unknown bearer token: make one with POST /api/v1/tokens"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                    await answer(scope, receive, send)
                    return
                caller = Caller(secrets.token_hex(16), shared_model=shared)
        elif cookie_owner is not None:
            caller = Caller(cookie_owner, shared_model=shared)
        else:
            caller = Caller(secrets.token_hex(16), shared_model=shared)
            new_cookie = caller.owner
        scope.setdefault("state", {})["caller"] = caller
        if new_cookie is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = self._cookie_header(new_cookie, scope.get("scheme") == "https")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie_owner(self, header: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # a malformed Cookie header is no identity
            return None
        morsel = jar.get(COOKIE)
        return None if morsel is None else _unsign(self.secret, "owner", morsel.value)

    def _cookie_header(self, owner: str, secure: bool) -> str:
        value = f"{owner}.{_mac(self.secret, 'owner', owner)}"
        flags = f"Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax"
        return f"{COOKIE}={value}; {flags}{'; Secure' if secure else ''}"

    async def _bearer(self, scope: Scope, token: str, shared: str | None) -> Caller | None:
        instructor = self.settings.instructor_token
        if instructor and hmac.compare_digest(token.encode(), instructor.encode()):
            return Caller("instructor", instructor=True, shared_model=shared)
        store = scope["app"].state.store
        owner = await run_in_threadpool(store.token_owner, hash_token(token))
        return None if owner is None else Caller(owner, shared_model=shared)
