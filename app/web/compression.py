"""Answers compressed by the fastest coding the client takes.

An answer of 1 kB or more goes to a client that accepts a compressed one in zstd, else brotli,
else gzip (starlette-compress's order, whatever the client's q-values rank above zero), each at
its fastest level, binary traces included. gzip is written by ISA-L (`isal`), which makes the
same stream as zlib at level 1 faster: what a client that takes only gzip (Python's
`requests` and `httpx` without their optional decoders, older tools) waits for. Each coding's
cost and bytes: benchmarks/REST_RESULTS.md.
"""

from collections.abc import Iterable
from typing import Any

from isal import igzip, isal_zlib
from starlette.types import ASGIApp
from starlette_compress import CompressMiddleware, add_compress_type

# starlette-compress's own loop around an encoder (its pinned version: pyproject.toml)
from starlette_compress._gzip import GZipResponder
from starlette_compress._responder import CompressionResponder

from app.web.binary import TRACE_MEDIA_TYPE

__all__ = ["COMPRESSION", "AnswerCompression"]

# What the middleware is given (benchmarks/bench_rest_trace.py times it)
COMPRESSION: dict[str, Any] = {
    "minimum_size": 1024,
    "zstd_level": 1,
    "brotli_quality": 0,
    "gzip_level": 1,
}

add_compress_type(TRACE_MEDIA_TYPE)

_GZIP_WINDOW = 16 + isal_zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


class _GzipEncoder:
    """One answer's gzip stream, fed as the app sends its body."""

    __slots__ = ("_stream",)

    def __init__(self, level: int) -> None:
        self._stream = isal_zlib.compressobj(level, isal_zlib.DEFLATED, _GZIP_WINDOW)

    def feed(self, data: bytes, flush: bool) -> Iterable[bytes]:
        out = self._stream.compress(data)
        if flush:
            out += self._stream.flush(isal_zlib.Z_SYNC_FLUSH)
        return (out,) if out else ()

    def finish(self) -> Iterable[bytes]:
        out = self._stream.flush(isal_zlib.Z_FINISH)
        return (out,) if out else ()


class _IsalGzipResponder(GZipResponder):
    """starlette-compress's gzip responder, its encoder ISA-L's."""

    __slots__ = ()

    def __init__(self, app: ASGIApp, minimum_size: int, level: int) -> None:
        CompressionResponder.__init__(
            self,
            app,
            minimum_size,
            "gzip",
            lambda body: igzip.compress(body, compresslevel=level),
            lambda content_length: _GzipEncoder(level),
        )


class AnswerCompression(CompressMiddleware):
    """starlette-compress's middleware with its gzip written by ISA-L (levels 0–3)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int,
        zstd_level: int,
        brotli_quality: int,
        gzip_level: int,
    ) -> None:
        if not 0 <= gzip_level <= isal_zlib.ISAL_BEST_COMPRESSION:
            raise ValueError(f"gzip_level must be 0 to {isal_zlib.ISAL_BEST_COMPRESSION}")
        super().__init__(
            app,
            minimum_size=minimum_size,
            zstd_level=zstd_level,
            brotli_quality=brotli_quality,
            gzip=False,
        )
        self._gzip = _IsalGzipResponder(app, minimum_size, gzip_level)
