#!/usr/bin/env bash
# The whole check: install test dependencies, run the tests, ruff and mypy --strict,
# and build the documentation (warnings are errors) into docs/_build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
python -m pytest
ruff check .
ruff format --check .
mypy
python -m sphinx -W --keep-going -b html docs docs/_build/html -q
