"""Large JSON answers encoded by orjson, NumPy arrays natively (no nested Python lists).

A T = 1000, H = 128 LSTM's forward answer is 26 MB of JSON: the standard `json` module takes
~0.7 s to write it from nested lists, orjson ~0.03 s straight from the arrays. Arrays are sent as
float64, so every number reads as Python's `repr` of the same float (the stream's frames, written
from `tolist()`, carry the very same digits). orjson would write NaN and ±Infinity as null: the
engine refuses non-finite states, and `as_sent` checks every array it hands over (NumericalError,
a 422 naming the array).

orjson holds the GIL for the whole of one call: the largest answer the bounds allow (81 MB, ~4 M
numbers) took 0.2–0.4 s in one call, all that time the event loop could not answer even
`/health`. So an answer is written in pieces of at most `PIECE_NUMBERS` numbers (about a
millisecond each); between two pieces the interpreter hands the GIL to a thread that waits for it.
The pieces are sent as chunks of about a megabyte, never joined into one 81 MB string (a copy
that holds the GIL as well). The bytes are the very same as one call's.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.rnn.arrays import check_finite

__all__ = [
    "CHUNK_BYTES",
    "PIECE_NUMBERS",
    "ChunkedResponse",
    "FastJSONResponse",
    "as_sent",
    "encode_in_pieces",
    "grouped",
]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
# numbers one orjson call writes at most: ~1.3 MB of JSON
PIECE_NUMBERS = 1 << 16
# the size of a chunk of the answer as it is sent
CHUNK_BYTES = 1 << 20


def as_sent(array: Any, name: str) -> np.ndarray:
    """An array as the answer carries it: C-contiguous float64 (orjson's native form), finite
    (else NumericalError naming `name` and the first bad index)."""
    sent = np.ascontiguousarray(array, dtype=np.float64)
    check_finite(name, sent)
    return sent


def _numbers(value: Any) -> int:
    """How many array numbers `value` holds, counted as far as it must be."""
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, dict):
        return sum(_numbers(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_numbers(item) for item in value)
    return 0


def _rows(array: np.ndarray, pieces: list[bytes | memoryview]) -> None:
    """A large array, rank ≥ 1, as its rows, a block of whole rows per orjson call."""
    row = array.size // array.shape[0]
    if row > PIECE_NUMBERS:  # one row alone is too large: each row on its own
        pieces.append(b"[")
        for index in range(array.shape[0]):
            if index:
                pieces.append(b",")
            _write(array[index], pieces)
        pieces.append(b"]")
        return
    block = max(1, PIECE_NUMBERS // max(1, row))
    pieces.append(b"[")
    for start in range(0, array.shape[0], block):
        if start:
            pieces.append(b",")
        # "[r0,r1,…]" of the block, without its brackets
        pieces.append(memoryview(orjson.dumps(array[start : start + block], option=_OPTIONS))[1:-1])
    pieces.append(b"]")


def _write(value: Any, pieces: list[bytes | memoryview]) -> None:
    if _numbers(value) <= PIECE_NUMBERS:
        pieces.append(orjson.dumps(value, option=_OPTIONS))
    elif isinstance(value, np.ndarray):
        _rows(value, pieces)
    elif isinstance(value, dict):
        pieces.append(b"{")
        for index, (key, item) in enumerate(value.items()):
            pieces.append(b',"' if index else b'"')
            pieces.append(orjson.dumps(key)[1:-1] + b'":')
            _write(item, pieces)
        pieces.append(b"}")
    else:
        pieces.append(b"[")
        for index, item in enumerate(value):
            if index:
                pieces.append(b",")
            _write(item, pieces)
        pieces.append(b"]")


def grouped(pieces: Sequence[bytes | memoryview]) -> list[bytes]:
    """Consecutive pieces joined into chunks of `CHUNK_BYTES` or more (the last may be less;
    at least one chunk)."""
    chunks: list[bytes] = []
    group: list[bytes | memoryview] = []
    size = 0
    for piece in pieces:
        group.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            chunks.append(b"".join(group))
            group, size = [], 0
    if group or not chunks:
        chunks.append(b"".join(group))
    return chunks


def encode_in_pieces(content: Any) -> list[bytes]:
    """`orjson.dumps(content, option=OPT_SERIALIZE_NUMPY)` as consecutive chunks of about
    `CHUNK_BYTES` or more, byte for byte, written with at most `PIECE_NUMBERS` array numbers per
    orjson call (content: dicts with str keys, lists, tuples, numbers, strings, C-contiguous NumPy
    arrays)."""
    pieces: list[bytes | memoryview] = []
    _write(content, pieces)
    return grouped(pieces)


class ChunkedResponse(Response):
    """An answer sent as its chunks (`CHUNK_BYTES` or more each), with their total length: one
    join of the whole answer (81 MB) held the GIL for 70–190 ms on a loaded machine."""

    def __init__(self, chunks: list[bytes], status_code: int = 200) -> None:
        self.chunks = chunks
        super().__init__(b"", status_code)
        self.headers["content-length"] = str(sum(len(chunk) for chunk in chunks))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        last = len(self.chunks) - 1
        for index, chunk in enumerate(self.chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < last})


class FastJSONResponse(ChunkedResponse):
    """A JSON answer written by orjson (content may hold NumPy arrays), in pieces."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200) -> None:
        super().__init__(encode_in_pieces(content), status_code)
