"""Minimal pytest integration: ``async def test_*`` functions run under triolet.run.

A test may take a ``mock_clock`` or ``autojump_clock`` fixture; that clock becomes
the run's clock.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Generator
from typing import Any

import pytest

from . import _core


@pytest.fixture
def mock_clock() -> _core.MockClock:
    return _core.MockClock()


@pytest.fixture
def autojump_clock() -> _core.MockClock:
    return _core.MockClock(autojump_threshold=0)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        fn = pyfuncitem.obj
        clock = None
        for name in ("mock_clock", "autojump_clock"):
            if name in pyfuncitem.funcargs:
                clock = pyfuncitem.funcargs[name]

        @functools.wraps(fn)
        def run_sync(**kwargs: Any) -> None:
            _core.run(functools.partial(fn, **kwargs), clock=clock)

        pyfuncitem.obj = run_sync
    yield
