"""Shared helpers for the networking tests."""

from __future__ import annotations

import triolet

# Under the trio shim (PYTHONPATH=/tmp/trioshim) ``triolet`` is real trio: the tests then
# check behaviour and error types against trio, but not triolet's richer messages.
UNDER_TRIO_SHIM = "trioshim" in (triolet.__file__ or "")


def message_check(pattern: str) -> str | None:
    """``pattern`` for pytest.raises(match=...), or None under the trio shim."""
    return None if UNDER_TRIO_SHIM else pattern
