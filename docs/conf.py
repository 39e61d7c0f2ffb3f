"""Sphinx configuration for triolet's documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``bash scripts/check.sh`` does this). The API reference is generated from the
docstrings, so the package must be importable (``pip install -e .``).
"""

import triolet

project = "triolet"
author = "the triolet developers"
copyright = "the triolet developers"
version = release = triolet.__version__

extensions = ["sphinx.ext.autodoc"]

exclude_patterns = ["_build", "examples"]
html_theme = "alabaster"
html_static_path: list[str] = []

# Signatures stay short; the types go into each entry's parameter list instead.
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Triolet's docstrings mention code with ``double backticks``; a single-backtick
# name is meant as a cross-reference to a Python object.
default_role = "py:obj"
