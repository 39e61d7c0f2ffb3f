"""``@trio_test``: run an async test function under triolet.run."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from .. import _core

ArgsT = ParamSpec("ArgsT")
RetT = TypeVar("RetT")


def trio_test(fn: Callable[ArgsT, Awaitable[RetT]]) -> Callable[ArgsT, RetT]:
    """Decorator: calling the decorated async function runs it in a fresh triolet run.

    A :class:`~triolet.abc.Clock` among the keyword arguments becomes the run's clock
    (more than one is a ValueError); :class:`~triolet.abc.Instrument` arguments are
    installed as instruments.
    """

    @functools.wraps(fn)
    def wrapper(*args: ArgsT.args, **kwargs: ArgsT.kwargs) -> RetT:
        clocks = [value for value in kwargs.values() if isinstance(value, _core.Clock)]
        if len(clocks) > 1:
            raise ValueError(f"too many clocks passed to a trio_test function: {clocks}")
        instruments = [value for value in kwargs.values() if isinstance(value, _core.Instrument)]
        return _core.run(
            functools.partial(fn, *args, **kwargs),
            clock=clocks[0] if clocks else None,
            instruments=instruments,
        )

    return wrapper
