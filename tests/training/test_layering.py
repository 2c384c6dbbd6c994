"""Imports go one way (web → training/tasks → rnn): tasks and training load no web package."""

import json
import subprocess
import sys


def test_tasks_and_training_import_no_web_package() -> None:
    code = (
        "import json, sys, app.tasks, app.training; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'pydantic', 'app'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert not [m for m in loaded if not m.startswith("app")], loaded
    assert not [m for m in loaded if m.startswith("app.api") or m == "app.store"], loaded
