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
# Wide enough for the examples' 100-column lines and the task trees.
html_theme_options = {"page_width": "1240px", "sidebar_width": "220px", "body_max_width": "none"}


def _public_bases(app, name, obj, options, bases):
    """Show a class's public ancestors in place of private helper bases."""

    def public(base):
        if getattr(base, "__name__", "").startswith("_"):
            return [ancestor for parent in base.__bases__ for ancestor in public(parent)]
        return [base]

    bases[:] = list(dict.fromkeys(ancestor for base in bases for ancestor in public(base)))


def setup(app):
    app.connect("autodoc-process-bases", _public_bases)
