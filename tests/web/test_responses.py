"""Large answers are written in pieces, so that one orjson call never holds the GIL for the whole
answer: the bytes equal one call's, and no call writes more than PIECE_NUMBERS array numbers."""

from typing import Any

import numpy as np
import orjson
import pytest

from app.web import responses
from app.web.binary import TraceResponse, encode
from app.web.responses import CHUNK_BYTES, PIECE_NUMBERS, FastJSONResponse, encode_in_pieces

OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def payloads() -> list[Any]:
    rng = np.random.default_rng(5)
    big = PIECE_NUMBERS * 3 + 7
    return [
        {"outputs": rng.normal(size=big)},  # one rank-1 array larger than a piece
        {"H": rng.normal(size=(780, 2, 128)), "n": 3, "name": "x"},  # the largest forward's H
        {"rows": rng.normal(size=(3, PIECE_NUMBERS + 1))},  # each row larger than a piece
        [rng.normal(size=(2, 3, PIECE_NUMBERS // 2 + 5)), None, True, 1.5, "t"],
        {
            "trace": {
                "layers": [
                    {
                        "H": rng.normal(size=(2, 780, 128)),
                        "gates": {"i": rng.normal(size=(780, 128))},
                    },
                    {"H": rng.normal(size=(1, 128)), "reverse": {"H": rng.normal(size=(900, 100))}},
                ],
                "final_state": {"h": rng.normal(size=(2, 128)), "c": None},
                "empty": np.zeros((0, 4)),
            },
            'quote"key': 1,
            "é": rng.normal(size=(PIECE_NUMBERS + 1, 1)),
        },
    ]


@pytest.mark.parametrize("payload", payloads(), ids=range(5))
def test_pieces_make_the_very_bytes_of_one_call(payload: Any) -> None:
    chunks = encode_in_pieces(payload)
    assert b"".join(chunks) == orjson.dumps(payload, option=OPTIONS)
    # chunks of about CHUNK_BYTES: none but the last smaller, none much larger
    assert all(CHUNK_BYTES <= len(chunk) < CHUNK_BYTES + 2**21 for chunk in chunks[:-1])


def test_no_orjson_call_writes_more_than_a_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    largest = 0
    real = orjson.dumps

    def counting(value: Any, option: int | None = None) -> bytes:
        nonlocal largest
        largest = max(largest, responses._numbers(value))
        return real(value, option=option)

    monkeypatch.setattr(responses.orjson, "dumps", counting)
    for payload in payloads():
        largest = 0
        response = FastJSONResponse(payload)
        encoded = b"".join(response.chunks)
        assert response.headers["content-length"] == str(len(encoded))
        assert largest <= PIECE_NUMBERS
        assert encoded == real(payload, option=OPTIONS)
    # the largest forward answer the default bounds allow: about 4 M numbers
    largest = 0
    FastJSONResponse({"H": np.ones((2, 780, 2560))})
    assert 0 < largest <= PIECE_NUMBERS


def test_a_binary_trace_is_sent_as_chunks_of_its_very_bytes() -> None:
    payload = payloads()[4]
    response = TraceResponse(payload, "float64")
    sent = b"".join(response.chunks)
    assert sent == encode(payload, "float64")
    assert response.headers["content-length"] == str(len(sent))
    assert len(response.chunks) > 1
