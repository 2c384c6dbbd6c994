"""Traces as compact binary: a JSON header plus little-endian array buffers.

Negotiated with `Accept: application/vnd.rnn-explorer.trace`; JSON stays the default. Layout:

    bytes 0–3    magic b"RNNT"
    bytes 4–7    format version, uint32 little-endian (1)
    bytes 8–11   header length N in bytes, uint32 little-endian
    bytes 12…    the header: UTF-8 JSON, space-padded so that 12 + N is a multiple of 8
    bytes 12+N…  the buffers; each array starts at a multiple of 8 from here

The header has the JSON answer's keys; every NumPy array of the answer is replaced by
{"dtype": "float32"|"float64", "shape": [...], "offset": bytes from the buffers' start}, row-major.
Arrays travel in the model's dtype: a float32 model's arrays are exactly its float32 values (the
JSON answer writes the same values widened to float64), so decoding loses nothing.
"""

import struct
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request

from app.web.responses import ChunkedResponse, grouped

__all__ = [
    "MAGIC",
    "TRACE_MEDIA_TYPE",
    "TraceResponse",
    "encode",
    "encode_parts",
    "framed",
    "padding",
    "wants_binary",
]

TRACE_MEDIA_TYPE = "application/vnd.rnn-explorer.trace"
MAGIC = b"RNNT"
VERSION = 1
_ALIGN = 8
_PREFIX = 12
_ZEROS = bytes(_ALIGN)


def wants_binary(request: Request) -> bool:
    """Whether the Accept header names the trace format with a non-zero quality."""
    for part in request.headers.get("accept", "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.lower() != TRACE_MEDIA_TYPE:
            continue
        quality = next((p[2:] for p in params if p.replace(" ", "").startswith("q=")), "1")
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


def encode(payload: Any, dtype: str) -> bytes:
    """A payload (dicts, lists, numbers, NumPy arrays) → the binary trace, arrays as `dtype`."""
    return b"".join(encode_parts(payload, dtype))


def encode_parts(payload: Any, dtype: str) -> list[bytes]:
    """The binary trace of `payload` as consecutive parts (prefix and header, then each array's
    bytes and padding), never joined: `encode`'s bytes are their concatenation."""
    buffers: list[bytes] = []
    size = 0
    little = np.dtype(dtype).newbyteorder("<")

    def place(array: np.ndarray) -> dict[str, Any]:
        nonlocal size
        data = array.astype(little, copy=False).tobytes()  # row-major whatever the strides
        descriptor = {"dtype": dtype, "shape": array.shape, "offset": size}
        buffers.append(data)
        size += len(data)
        pad = padding(len(data))
        if pad:
            buffers.append(_ZEROS[:pad])
            size += pad
        return descriptor

    def walk(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return place(value)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    return [framed(orjson.dumps(walk(payload))), *buffers]


def framed(header: bytes) -> bytes:
    """The message's start: magic, version and length, then the JSON header padded with spaces
    so that the buffers start at a multiple of 8."""
    header += b" " * (-(_PREFIX + len(header)) % _ALIGN)
    return MAGIC + struct.pack("<II", VERSION, len(header)) + header


def padding(size: int) -> int:
    """The zero bytes that follow an array of `size` bytes, so that the next starts aligned."""
    return -size % _ALIGN


class TraceResponse(ChunkedResponse):
    """A binary trace answer (see the module docstring for the layout), sent in chunks."""

    media_type = TRACE_MEDIA_TYPE

    def __init__(self, payload: Any, dtype: str) -> None:
        super().__init__(grouped(encode_parts(payload, dtype)))
