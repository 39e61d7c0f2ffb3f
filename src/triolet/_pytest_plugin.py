"""pytest plugin: run ``async def`` tests and async fixtures under :func:`triolet.run`.

Which tests are ours
--------------------
An ``async def`` test belongs to triolet when it carries ``@pytest.mark.triolet``
(on the function, its class, or a module's ``pytestmark``), or when the pytest
configuration sets ``triolet_mode = true``: then every ``async def`` test and every
async fixture belongs to triolet. Async fixtures are only usable from our tests, and
must be function-scoped. Hypothesis's ``@given`` works on our tests: each example gets
its own run, with its own async fixtures.

One run per test
----------------
pytest sets fixtures up outside of any event loop, so this module makes pytest cache a
placeholder for each async fixture, and runs the test and those fixtures together in one
run when pytest calls the test: see ``_pytest_run`` for how they are set up, shared and
torn down (in dependency order, on every path), and how errors are reported.

Run options
-----------
A fixture value that is a :class:`triolet.abc.Clock` (``mock_clock``, ``autojump_clock``
or your own) becomes the run's clock; :class:`triolet.abc.Instrument` values are
installed as instruments. ``@pytest.mark.triolet(...)`` keyword arguments are passed to
:func:`triolet.run` (``clock``, ``instruments``, ``strict_exception_groups``,
``restrict_keyboard_interrupt_to_checkpoints``).
"""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import pytest

from . import _core
from ._core import Clock, Instrument
from ._pytest_run import AsyncFixture, run_test

_MARK = "triolet"
_MODE_OPTION = "triolet_mode"
_RUN_OPTIONS = frozenset(
    {
        "clock",
        "instruments",
        "strict_exception_groups",
        "restrict_keyboard_interrupt_to_checkpoints",
    }
)

# Per-config state, so that pytester's in-process runs don't disturb the outer session.
_current_item_key = pytest.StashKey[pytest.Item | None]()
_is_ours_key = pytest.StashKey[bool]()
_is_running_key = pytest.StashKey[bool]()


# ------------------------------------------------------------------------- configuration
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _MODE_OPTION,
        "run every 'async def' test and async fixture under triolet",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARK}(**run_options): run this async test and its async fixtures under "
        "triolet.run; keyword arguments are passed to triolet.run",
    )


def _mode_is_on(config: pytest.Config) -> bool:
    return bool(config.getini(_MODE_OPTION))


def _is_triolet_test(item: pytest.Item) -> bool:
    """Whether ``item`` is an async test that this plugin runs (cached per item)."""
    ours = item.stash.get(_is_ours_key, None)
    if ours is None:
        ours = (
            isinstance(item, pytest.Function)
            and not (isinstance(item.cls, type) and issubclass(item.cls, unittest.TestCase))
            and inspect.iscoroutinefunction(_hypothesis_inner_test(item.obj) or item.obj)
            and (_mode_is_on(item.config) or item.get_closest_marker(_MARK) is not None)
        )
        item.stash[_is_ours_key] = ours
    return ours


def _hypothesis_inner_test(test_fn: object) -> Callable[..., Any] | None:
    """The function that Hypothesis's ``@given`` wrapper calls once per example, which
    a plugin may replace (Hypothesis documents this for running async tests)."""
    if not getattr(test_fn, "is_hypothesis_test", False):
        return None
    inner: Callable[..., Any] = test_fn.hypothesis.inner_test  # type: ignore[attr-defined]
    return inner


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    # Fixture hooks only see the item through private attributes when the fixture is
    # not function-scoped; remember it here instead.
    item.config.stash[_current_item_key] = item
    try:
        return (yield)
    finally:
        item.config.stash[_current_item_key] = None


# -------------------------------------------------------------------------------- fixtures
@pytest.fixture
def mock_clock() -> _core.MockClock:
    """A :class:`~triolet.testing.MockClock` that becomes the test run's clock."""
    return _core.MockClock()


@pytest.fixture
def autojump_clock() -> _core.MockClock:
    """A MockClock that jumps to the next deadline as soon as every task is blocked."""
    return _core.MockClock(autojump_threshold=0)


@pytest.fixture
async def nursery() -> AsyncIterator[_core.Nursery]:
    """A nursery that stays open for the whole test, for background tasks.

    Its tasks are cancelled once the test (and every fixture using this one) is done.
    """
    async with _core.open_nursery() as test_nursery:
        yield test_nursery
        test_nursery.cancel_scope.cancel()


def _bind_to_instance(func: Callable[..., Any], instance: object) -> Callable[..., Any]:
    """Bind a fixture defined in a test class to the instance running this test, as
    pytest itself does for sync fixtures."""
    if instance is None:
        return func
    bound_to = getattr(func, "__self__", None)
    unbound = getattr(func, "__func__", None)
    if bound_to is None or unbound is None or not isinstance(instance, type(bound_to)):
        return func
    return unbound.__get__(instance)  # type: ignore[no-any-return]


def _claiming_item(request: pytest.FixtureRequest) -> pytest.Item | None:
    item = request.node if isinstance(request.node, pytest.Item) else None
    return item if item is not None else request.config.stash.get(_current_item_key, None)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    item = _claiming_item(request)
    ours = item is not None and _is_triolet_test(item)
    if not ours and not _mode_is_on(request.config):
        return (yield)
    original = fixturedef.func
    fixture_name = fixturedef.argname
    if not (inspect.iscoroutinefunction(original) or inspect.isasyncgenfunction(original)):
        _refuse_async_dependencies(fixturedef, request)
        result = yield
        _refuse_coroutine_result(fixture_name, result)
        return result
    if item is None or not ours:
        test_name = item.name if item is not None else "a sync test"
        raise RuntimeError(
            f"{test_name!r} requested the async fixture {fixture_name!r}, but it is not "
            "an 'async def' test run by triolet; make the test 'async def' (and mark it "
            f"@pytest.mark.{_MARK} unless {_MODE_OPTION} is on) or the fixture sync"
        )
    if item.stash.get(_is_running_key, False):
        raise RuntimeError(
            f"the async fixture {fixture_name!r} was requested while its test is running "
            "(request.getfixturevalue?); async fixtures are set up when the test's run "
            "starts, so request it as an argument of the test or of another fixture"
        )
    if fixturedef.scope != "function":
        raise RuntimeError(
            f"async fixture {fixture_name!r} has scope {fixturedef.scope!r}; triolet gives "
            "each test its own run, so async fixtures must be function-scoped (use a sync "
            "fixture for wider scopes)"
        )
    func = _bind_to_instance(original, getattr(request, "instance", None))

    def make_placeholder(**kwargs: object) -> AsyncFixture:
        return AsyncFixture(fixture_name, func, kwargs)

    # pytest calls fixturedef.func with the resolved arguments and caches the result;
    # swapping it keeps pytest's caching, finalizers and error reporting. pytest
    # annotates the attribute Final, hence setattr.
    setattr(fixturedef, "func", make_placeholder)  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", original)  # noqa: B010


def _refuse_async_dependencies(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    for argname in fixturedef.argnames:
        value = request.getfixturevalue(argname)
        if isinstance(value, AsyncFixture):
            raise RuntimeError(
                f"sync fixture {fixturedef.argname!r} depends on async fixture "
                f"{argname!r}; sync fixtures run before the test's triolet run starts, "
                f"so make {fixturedef.argname!r} 'async def' too"
            )


def _refuse_coroutine_result(fixture_name: str, result: object) -> None:
    if inspect.iscoroutine(result):
        result.close()  # so that Python doesn't warn about it as well
    elif not inspect.isasyncgen(result):
        return
    raise TypeError(
        f"fixture {fixture_name!r} is a sync function that returned {type(result).__name__} "
        f"object {result!r}; declare it with 'async def' so triolet runs it inside the "
        "test's run"
    )


# -------------------------------------------------------------------------- running tests
@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    if not _is_triolet_test(pyfuncitem):
        return (yield)
    run_options = _run_options(pyfuncitem)
    test_fn = pyfuncitem.obj
    inner_test = _hypothesis_inner_test(test_fn)
    async_fn = inner_test or test_fn
    fixture_values = list(pyfuncitem.funcargs.values())

    @functools.wraps(async_fn)
    def run_in_triolet(*args: object, **kwargs: object) -> None:
        run_test(async_fn, args, kwargs, fixture_values, run_options)

    # pytest calls the test function with the fixture values as keyword arguments;
    # Hypothesis's wrapper calls inner_test once per example. Either way, each call is
    # one triolet run.
    if inner_test is None:
        pyfuncitem.obj = run_in_triolet
    else:
        test_fn.hypothesis.inner_test = run_in_triolet
    pyfuncitem.stash[_is_running_key] = True
    try:
        return (yield)
    finally:
        pyfuncitem.stash[_is_running_key] = False
        if inner_test is None:
            pyfuncitem.obj = test_fn
        else:
            test_fn.hypothesis.inner_test = inner_test


def _run_options(item: pytest.Function) -> dict[str, Any]:
    """Keyword arguments for triolet.run: the mark's, plus clock and instruments found
    among the test's fixture values."""
    mark = item.get_closest_marker(_MARK)
    options: dict[str, Any] = {}
    if mark is not None:
        if mark.args:
            raise TypeError(
                f"@pytest.mark.{_MARK} takes only keyword arguments for triolet.run, got "
                f"positional {mark.args!r}"
            )
        unknown = sorted(set(mark.kwargs) - _RUN_OPTIONS)
        if unknown:
            raise TypeError(
                f"@pytest.mark.{_MARK} got unknown option(s) {unknown}; it accepts "
                f"{sorted(_RUN_OPTIONS)}"
            )
        options.update(mark.kwargs)
    clocks = {name: value for name, value in item.funcargs.items() if isinstance(value, Clock)}
    if "clock" in options:
        clocks["@pytest.mark.triolet(clock=...)"] = options["clock"]
    if len(clocks) > 1:
        raise ValueError(
            f"test {item.name!r} has more than one clock ({', '.join(clocks)}); a run has "
            "exactly one clock, so use only one of them"
        )
    if clocks:
        options["clock"] = next(iter(clocks.values()))
    instruments = [value for value in item.funcargs.values() if isinstance(value, Instrument)]
    options["instruments"] = [*options.get("instruments", ()), *instruments]
    return options
