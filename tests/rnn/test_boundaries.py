"""The numeric core stands alone: importing it pulls in no web package."""

import subprocess
import sys

WEB_PACKAGES = ("fastapi", "starlette", "uvicorn", "pydantic", "jinja2", "httpx")


def test_app_rnn_imports_no_web_package() -> None:
    code = (
        "import sys, app.rnn, app.rnn.weights, app.rnn.jacobian, app.rnn.optim;"
        f"print(','.join(sorted(m for m in {WEB_PACKAGES!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
