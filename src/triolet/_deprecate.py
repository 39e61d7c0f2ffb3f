"""Deprecation warnings for triolet APIs."""


class TrioDeprecationWarning(FutureWarning):
    """Warns that a triolet (or trio-compatible) API will be removed; FutureWarning so users see it."""
