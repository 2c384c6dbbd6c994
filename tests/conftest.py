"""Shared pytest set-up: the browser every browser test drives."""

import os
import shutil
from typing import Any

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    """$CHROMIUM_PATH, else the system's Chromium; None lets Playwright use its own build."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    extra = {"executable_path": path} if path else {}
    return {**browser_type_launch_args, **extra, "args": CHROMIUM_FLAGS}
