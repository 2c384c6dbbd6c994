"""app.web.compression: an answer goes out in the fastest coding the client
accepts (zstd, then brotli, then gzip), JSON and binary traces alike, and decodes, with the
coding's own library, to the very bytes of the uncompressed answer."""

import gzip

import brotli
import numpy as np
import pytest
import zstandard
from fastapi.testclient import TestClient

from app.web.binary import TRACE_MEDIA_TYPE
from app.web.compression import COMPRESSION, AnswerCompression

DECODE = {"zstd": zstandard.ZstdDecompressor().decompressobj, "br": brotli.Decompressor}


def decoded(coding: str, raw: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(raw)
    decoder = DECODE[coding]()
    return decoder.process(raw) if coding == "br" else decoder.decompress(raw)


def raw_answer(client: TestClient, url: str, body: dict, headers: dict) -> tuple[dict, bytes]:
    with client.stream("POST", url, json=body, headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        return dict(answer.headers), b"".join(answer.iter_raw())


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "zstd"),  # what a current browser sends
        ("gzip, br", "br"),
        ("gzip", "gzip"),
        ("zstd;q=0, gzip", "gzip"),  # a coding refused by q=0 is not used
    ],
)
@pytest.mark.parametrize("accept_type", ["application/json", TRACE_MEDIA_TYPE])
def test_a_trace_goes_out_in_the_fastest_coding_the_client_takes(
    client: TestClient, make_model, accept: str, coding: str, accept_type: str
) -> None:
    model_id = make_model(cell="lstm", hidden_size=32)
    body = {"inputs": np.random.default_rng(0).normal(size=(200, 2)).tolist()}
    url = f"/api/v1/models/{model_id}/forward"
    plain_headers, plain = raw_answer(
        client, url, body, {"accept": accept_type, "accept-encoding": "identity"}
    )
    assert "content-encoding" not in plain_headers
    headers, raw = raw_answer(client, url, body, {"accept": accept_type, "accept-encoding": accept})
    assert headers["content-encoding"] == coding
    assert "accept-encoding" in headers["vary"].lower()
    assert headers["content-type"].startswith(accept_type)
    assert decoded(coding, raw) == plain
    assert len(raw) < len(plain), (coding, len(raw), len(plain))


def test_a_small_answer_goes_out_as_it_is(client: TestClient) -> None:
    answer = client.get("/api/v1/health", headers={"accept-encoding": "zstd, br, gzip"})
    assert answer.status_code == 200 and "content-encoding" not in answer.headers


@pytest.mark.parametrize("coding", ["zstd", "br", "gzip"])
def test_an_answer_sent_whole_is_compressed_too(client: TestClient, coding: str) -> None:
    """The OpenAPI document is one body (not a stream of chunks, as traces are)."""
    plain = client.get("/openapi.json", headers={"accept-encoding": "identity"})
    with client.stream("GET", "/openapi.json", headers={"accept-encoding": coding}) as answer:
        assert answer.headers["content-encoding"] == coding
        raw = b"".join(answer.iter_raw())
    assert decoded(coding, raw) == plain.content and len(raw) < len(plain.content)


def test_a_gzip_level_the_encoder_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="gzip_level"):
        AnswerCompression(lambda scope, receive, send: None, **{**COMPRESSION, "gzip_level": 4})
