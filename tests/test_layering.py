"""The house: layers import downwards only (import-linter's contracts in pyproject.toml, run by
scripts/test.sh), the lower layers load no web package, and no module grows past ~350 lines."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 350
WEB_PACKAGES = ("fastapi", "starlette", "uvicorn", "httpx", "httpx2", "jinja2")


def test_the_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize("package", ["app.rnn", "app.tasks", "app.training", "app.services"])
def test_the_layers_below_the_web_load_no_web_package(package: str) -> None:
    code = (
        f"import json, sys, {package}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert not [name for name in loaded if name in WEB_PACKAGES], loaded


def test_the_engine_loads_neither_the_store_nor_the_services() -> None:
    code = "import json, sys, app.rnn, app.tasks; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    above = ("app.web", "app.services", "app.store", "app.settings", "app.training")
    assert not [name for name in loaded if name.startswith(above)], loaded


def test_no_module_in_app_is_over_350_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in sorted((ROOT / "app").rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long
