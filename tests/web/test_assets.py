"""The page's files: versioned URLs cached for good, compressed answers, plotly.js compressed once.

Each test does what a browser does: reads the page, follows the URLs it names (and the modules'
relative imports), and checks what comes back against the files on disk.
"""

import gzip
import os
import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.web.assets import asset_version
from app.web.pages import PLOTLY_JS, STATIC_DIR

IMMUTABLE = "public, max-age=31536000, immutable"
IMPORT = re.compile(r"^import\s[^;]*?[\"'](\.{1,2}/[^\"']+)[\"'];", re.MULTILINE)


def _page_urls(client: TestClient) -> list[str]:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"  # it names the current versions
    return re.findall(r'(?:src|href)="(/[^"]+)"', page.text)


def test_the_page_names_versioned_urls_that_are_cached_for_good(client: TestClient) -> None:
    urls = _page_urls(client)
    version = asset_version(STATIC_DIR)
    assets = [url for url in urls if url.startswith("/assets/")]
    assert {url.rsplit("/", 1)[-1] for url in assets} >= {"main.js", "explorer.css", "favicon.svg"}
    for url in assets:
        assert url.startswith(f"/assets/{version}/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["cache-control"] == IMMUTABLE, url
        assert answer.content == (STATIC_DIR / url.removeprefix(f"/assets/{version}/")).read_bytes()


def test_every_module_the_page_imports_resolves_under_the_same_version(client: TestClient) -> None:
    version = asset_version(STATIC_DIR)
    todo, seen = [f"/assets/{version}/js/main.js"], set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["cache-control"] == IMMUTABLE, url
        base = url.rsplit("/", 1)[0]
        for name in IMPORT.findall(answer.text):
            parts = [*base.split("/"), *name.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            todo.append("/".join(resolved))
    assert len(seen) > 20  # the whole module graph, each under the version


def test_another_version_is_answered_but_revalidated(client: TestClient) -> None:
    answer = client.get("/assets/000000000000/js/api.js")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.content == (STATIC_DIR / "js" / "api.js").read_bytes()
    plain = client.get("/static/js/api.js")
    assert plain.headers["cache-control"] == "no-cache" and plain.headers["etag"]
    again = client.get("/static/js/api.js", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/assets/").status_code == 404
    assert client.get("/assets/000000000000/js/nothing.js").status_code == 404


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    module = tmp_path / "js" / "a.js"
    module.write_text("export const a = 1;\n")
    first = asset_version(tmp_path)
    assert asset_version(tmp_path) == first
    module.write_text("export const a = 2;\n")
    stamp = time.time_ns() + 1_000_000_000
    os.utime(module, ns=(stamp, stamp))
    second = asset_version(tmp_path)
    assert second != first
    (tmp_path / "js" / "b.js").write_text("")
    assert asset_version(tmp_path) not in (first, second)


def test_answers_are_compressed_for_a_client_that_accepts_it(client: TestClient) -> None:
    version = asset_version(STATIC_DIR)
    for url in (f"/assets/{version}/css/explorer.css", "/api/v1/choices", "/openapi.json"):
        answer = client.get(url, headers={"accept-encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip", url
        assert int(answer.headers["content-length"]) < len(answer.content), url  # decoded here
    plain = client.get("/api/v1/choices", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_plotly_is_versioned_immutable_and_sent_compressed(client: TestClient) -> None:
    (url,) = [url for url in _page_urls(client) if "plotly" in url]
    bundle = PLOTLY_JS.read_bytes()
    with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as answer:
        raw = b"".join(answer.iter_raw())
        assert answer.headers["cache-control"] == IMMUTABLE
        assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == bundle
    assert len(raw) < len(bundle) / 3, (len(raw), len(bundle))
    identity = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in identity.headers and identity.content == bundle
