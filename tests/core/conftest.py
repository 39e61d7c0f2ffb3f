"""Shared set-up for the kernel tests.

Every test here is written against triolet's public API, so it can also run against
real trio: ``PYTHONPATH=/tmp/trioshim python -m pytest tests/core`` makes ``import
triolet`` load trio 0.35. Tests marked ``triolet_only`` are skipped there: they look at
triolet's internals (the selectors backend, Ctrl-C landing inside kernel code), or at
what issue 3 asks for where trio differs (a warning where trio logs, RuntimeError for
``reschedule`` misuse where trio crashes with TrioInternalError).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import triolet

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "triolet_only: checks triolet internals or a deliberate difference from trio; "
        "skipped when running against trio",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not UNDER_TRIO:
        return
    skip = pytest.mark.skip(reason="triolet internals or a deliberate difference from trio")
    for item in items:
        if item.get_closest_marker("triolet_only") is not None:
            item.add_marker(skip)


@pytest.fixture
def no_deprecation_warnings() -> Iterator[None]:
    """trio deprecates ``strict_exception_groups=False``; triolet supports it quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


@pytest.fixture(params=["default", "selectors"])
def io_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on the default I/O backend (epoll on Linux) and on the portable one."""
    if request.param == "selectors":
        if UNDER_TRIO:
            pytest.skip("choosing the selectors backend patches triolet internals")
        from triolet._core import _run
        from triolet._core._io_selectors import SelectorsIOManager

        monkeypatch.setattr(_run, "_make_io_manager", SelectorsIOManager)
    return str(request.param)
