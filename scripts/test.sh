#!/usr/bin/env bash
# Install everything the tests need into .venv and run every test: lint, import contracts, types,
# unit, API, browser end-to-end, shipping. Extra arguments go to pytest (scripts/test.sh -k lstm).
#
#   scripts/test.sh          everything (what CI runs)
#   scripts/test.sh --fast   lint, contracts, types, then the tests without the browser, the
#                            shipping and the slow (training) ones: a few minutes, for working
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# The venv's tools (hadolint, lint-imports, ruff, uvicorn) for this script and every test.
export PATH="$PWD/.venv/bin:$PATH"
python -m pip install --quiet --upgrade pip
# The tests run with the versions the image installs: requirements.lock's pins (without their
# hashes and extras, which a constraints file cannot carry) constrain everything pip resolves.
# torch is pinned: it is the reference for parity tests and benchmarks, never a runtime dependency.
sed -n 's/^\([A-Za-z0-9_.-]*\)\(\[[^]]*\]\)\{0,1\}==\([^ ]*\).*/\1==\3/p' requirements.lock \
  > .venv/locked-versions.txt
python -m pip install --quiet -c .venv/locked-versions.txt -e ".[dev,cluster]"

# The browser tests drive a real Chromium: Debian's package where apt is at hand (Playwright's
# own download needs the open internet), Playwright's build elsewhere.
if [ "$fast" = 0 ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    python -m playwright install chromium
  fi
fi

# The store tests run against a real PostgreSQL too (tests/postgres.py starts it once per run, as
# the postgres system user, and stops it at the end): Debian's package where apt is at hand.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is needed by the store tests: install Debian's postgresql package" >&2
    exit 1
  fi
fi

ruff check .
ruff format --check .
lint-imports
mypy
if [ "$fast" = 1 ]; then
  python -m pytest -m "not browser and not slow" --ignore=tests/browser --ignore=tests/ship "$@"
else
  python -m pytest "$@"
fi
