#!/usr/bin/env bash
# Install everything the tests need into .venv and run every test: lint, types, unit, API and
# browser end-to-end. Extra arguments go to pytest (e.g. scripts/test.sh -k lstm).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned: it is the reference for parity tests and benchmarks, never a runtime dependency.
.venv/bin/python -m pip install --quiet -e ".[dev]"

# The browser tests drive a real Chromium: Debian's package where apt is at hand (Playwright's
# own download needs the open internet), Playwright's build elsewhere.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    .venv/bin/python -m playwright install chromium
  fi
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
