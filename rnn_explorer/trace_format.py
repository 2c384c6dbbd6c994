"""Reading the server's binary trace answers (docs/api.md, "Binary traces") into NumPy arrays.

The layout: b"RNNT", a uint32 format version, a uint32 header length N, N bytes of JSON header
(the answer's keys, each array replaced by {"dtype", "shape", "offset"}), then the buffers,
little-endian and row-major, each at its offset from the byte after the header.
"""

from typing import Any

import numpy as np
import orjson

__all__ = ["TRACE_MEDIA_TYPE", "decode_trace"]

TRACE_MEDIA_TYPE = "application/vnd.rnn-explorer.trace"
_MAGIC = b"RNNT"
_VERSION = 1
_DESCRIPTOR_KEYS = frozenset({"dtype", "shape", "offset"})


def decode_trace(body: bytes) -> dict[str, Any]:
    """A binary trace → the answer as its JSON would read, every array an ndarray (read-only
    views of `body`, in the model's dtype)."""
    if body[:4] != _MAGIC:
        raise ValueError("not a binary trace (the first bytes are not RNNT)")
    version, length = (int(n) for n in np.frombuffer(body, "<u4", count=2, offset=4))
    if version != _VERSION:
        raise ValueError(f"binary trace version {version} is not known (this client reads 1)")
    header = orjson.loads(body[12 : 12 + length])
    start = 12 + length

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if value.keys() == _DESCRIPTOR_KEYS:
                dtype = np.dtype(value["dtype"]).newbyteorder("<")
                count = int(np.prod(value["shape"], dtype=np.int64))
                offset = start + int(value["offset"])
                return np.frombuffer(body, dtype, count, offset).reshape(value["shape"])
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    answer: dict[str, Any] = walk(header)
    return answer
