#!/usr/bin/env bash
# The whole check: install test dependencies, run the tests, ruff and mypy --strict.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
python -m pytest
ruff check .
ruff format --check .
mypy
