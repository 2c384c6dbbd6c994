"""The page's files on versioned URLs, cached for good, and plotly.js served compressed.

The page asks for `/assets/<version>/js/main.js` (and the style sheet, KaTeX, …), where
<version> is a digest of the static tree (every file's path, size and modification time): when a
file changes, so does every URL, and a browser may keep what it fetched for a year without asking
again (`Cache-Control: immutable`). The page's modules import each other by relative paths, so
they all resolve under the same version. A URL with another version (a page from before a change)
is still answered, with the current file and `no-cache`. The unversioned `/static/...` URLs stay,
revalidated on every use (`no-cache`, with StaticFiles' ETag).

plotly.js (4.8 MB, from the installed plotly package) is `/vendor/plotly-<plotly version>.min.js`,
immutable too, and sent gzip-compressed from bytes compressed once (app.web.compression would
compress it again for every request).
"""

import gzip
import hashlib
import threading
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["AssetFiles", "asset_version", "plotly_router", "plotly_url"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def asset_version(directory: Path) -> str:
    """12 hex digits that change whenever a file under `directory` is added, removed or changed."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            info = path.stat()
            digest.update(
                f"{path.relative_to(directory)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()[:12]


class _Cached:
    """asset_version(directory), recomputed at most once a second (not a tree walk per request)."""

    def __init__(self, directory: Path, ttl: float = 1.0) -> None:
        self.directory, self.ttl = directory, ttl
        self.value, self.at = "", -float("inf")
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            if time.monotonic() - self.at > self.ttl:
                self.value, self.at = asset_version(self.directory), time.monotonic()
            return self.value


def _with_cache_control(send: Send, value: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            message["headers"] = [*kept, (b"cache-control", value.encode())]
        await send(message)

    return sending


class AssetFiles:
    """The ASGI app mounted at /assets: /assets/<version>/<path> → `directory`/<path>."""

    def __init__(self, directory: Path) -> None:
        self.files = StaticFiles(directory=directory)
        self.version = _Cached(directory)

    def url(self, request: Request, path: str) -> str:
        """The versioned URL of `path` (relative to the static directory)."""
        return f"{request.scope.get('root_path', '')}/assets/{self.version()}/{path}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rest = scope["path"][len(scope.get("root_path", "")) :].lstrip("/")
        version, _, _ = rest.partition("/")
        if not version:
            await Response(status_code=404)(scope, receive, send)
            return
        inner = {**scope, "root_path": f"{scope.get('root_path', '')}/{version}"}
        policy = IMMUTABLE if version == self.version() else REVALIDATE
        await self.files(inner, receive, _with_cache_control(send, policy))


class RevalidatedFiles(StaticFiles):
    """StaticFiles whose answers the browser revalidates on every use (the unversioned URLs)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, _with_cache_control(send, REVALIDATE))


def plotly_url(version: str) -> str:
    return f"/vendor/plotly-{version}.min.js"


def plotly_router(bundle: Path, version: str) -> APIRouter:
    """The routes of plotly.js: versioned (immutable, gzip-compressed once) and the plain URL."""
    router = APIRouter(include_in_schema=False)
    compressed: list[bytes] = []
    lock = threading.Lock()

    def gzipped() -> bytes:
        with lock:
            if not compressed:
                compressed.append(gzip.compress(bundle.read_bytes(), compresslevel=9, mtime=0))
            return compressed[0]

    @router.get(plotly_url(version))
    def versioned(request: Request) -> Response:
        headers = {"cache-control": IMMUTABLE, "vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            body = gzipped()
            headers["content-encoding"] = "gzip"
            return Response(body, media_type="text/javascript", headers=headers)
        return FileResponse(bundle, media_type="text/javascript", headers=headers)

    @router.get("/vendor/plotly.min.js")
    def plain() -> FileResponse:
        headers = {"cache-control": REVALIDATE}
        return FileResponse(bundle, media_type="text/javascript", headers=headers)

    return router
