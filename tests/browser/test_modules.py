"""The page's modules keep to their concerns: api.js is the only one that talks to the server,
and no view or control reaches it, directly or through another module."""

import re
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "static" / "js"
API = JS / "api.js"
IMPORT = re.compile(r"^import\s[^;]*?[\"'](\.{1,2}/[^\"']+)[\"'];", re.MULTILINE)
NETWORK = ("fetch(", "new WebSocket", "XMLHttpRequest", "new EventSource", "sendBeacon")


def imports_of(module: Path) -> set[Path]:
    text = module.read_text(encoding="utf-8")
    return {(module.parent / name).resolve() for name in IMPORT.findall(text)}


def reachable(module: Path) -> set[Path]:
    """Every module `module` imports, directly or through others."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        for imported in imports_of(todo.pop()):
            assert imported.exists(), f"{module.name} imports {imported}, which does not exist"
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def test_the_import_reader_finds_the_network_from_main() -> None:
    assert API in reachable(JS / "main.js")


def test_no_view_or_control_reaches_the_network() -> None:
    modules = sorted([*(JS / "views").glob("*.js"), *(JS / "controls").glob("*.js")])
    assert modules
    for module in modules:
        assert API not in reachable(module), f"{module.relative_to(JS)} reaches api.js"


def test_only_api_js_talks_to_the_server() -> None:
    for module in sorted(JS.rglob("*.js")):
        if module == API:
            continue
        text = module.read_text(encoding="utf-8")
        found = [word for word in NETWORK if word in text]
        assert not found, f"{module.relative_to(JS)} uses {found}"
