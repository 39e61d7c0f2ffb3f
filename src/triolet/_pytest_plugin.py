"""pytest plugin: run ``async def`` tests and async fixtures under :func:`triolet.run`.

Which tests are ours
--------------------
An ``async def`` test belongs to triolet when it carries ``@pytest.mark.triolet``
(on the function, its class, or a module's ``pytestmark``), or when the pytest
configuration sets ``triolet_mode = true``: then every ``async def`` test and every
async fixture belongs to triolet. Async fixtures are only usable from our tests.

One run per test
----------------
pytest sets fixtures up before calling the test, outside of any event loop, where an
async fixture can't run. So while pytest sets up one of our tests, an async fixture is
not called: pytest caches an ``_AsyncFixture`` placeholder that remembers the fixture
function and its arguments (some of them placeholders too). When pytest calls the
test, one ``triolet.run`` starts, and inside it:

* each async fixture runs in a task of its own: it waits for the async fixtures it
  depends on, calls its function, and publishes the value it returns or yields;
* the test runs in another task once every async fixture has a value;
* when the test has ended, each async generator fixture is resumed past its ``yield``,
  but only after every fixture that depends on it has been torn down.

A fixture that raises (in setup, in teardown, or from a background task of a nursery it
keeps open across its ``yield``) cancels the whole run; the other fixtures are still
torn down in order, and the error carries a note naming the fixture. As with pytest's
yield fixtures, the code after a ``yield`` always runs: the generator is resumed, not
thrown into, and runs under cancellation if the run was cancelled. A failing test does
*not* cancel its fixtures: they are torn down normally.

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
            and inspect.iscoroutinefunction(item.obj)
            and (_mode_is_on(item.config) or item.get_closest_marker(_MARK) is not None)
        )
        item.stash[_is_ours_key] = ours
    return ours


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


class _AsyncFixture:
    """What pytest caches as an async fixture's value until the test's run sets it up."""

    def __init__(self, name: str, func: Callable[..., Any], kwargs: dict[str, object]) -> None:
        self.name = name
        self.func = func
        self.kwargs = kwargs
        self.dependencies = [value for value in kwargs.values() if isinstance(value, _AsyncFixture)]
        self.value: object = None
        self.ready = _Flag()
        # The test, plus each fixture that depends on this one, must be done with it
        # before it is torn down.
        self.users_left = 1
        self.may_tear_down = _Flag()

    def release(self) -> None:
        self.users_left -= 1
        if self.users_left == 0:
            self.may_tear_down.set()

    def resolved_kwargs(self) -> dict[str, object]:
        return _resolve(self.kwargs)

    def __repr__(self) -> str:
        return (
            f"<async fixture {self.name!r}: its value only exists inside the triolet run of "
            "an async test>"
        )


class _Flag:
    """A one-shot event built on the kernel's ParkingLot."""

    def __init__(self) -> None:
        self._is_set = False
        self._waiters = _core.ParkingLot()

    def set(self) -> None:
        self._is_set = True
        self._waiters.unpark_all()

    async def wait(self) -> None:
        if self._is_set:
            await _core.checkpoint()
        else:
            await self._waiters.park()


def _resolve(kwargs: dict[str, object]) -> dict[str, object]:
    return {
        name: value.value if isinstance(value, _AsyncFixture) else value
        for name, value in kwargs.items()
    }


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
    if not ours:
        test_name = item.name if item is not None else "a sync test"
        raise RuntimeError(
            f"{test_name!r} requested the async fixture {fixture_name!r}, but it is not "
            "an 'async def' test run by triolet; make the test 'async def' (and mark it "
            f"@pytest.mark.{_MARK} unless {_MODE_OPTION} is on) or the fixture sync"
        )
    if fixturedef.scope != "function":
        raise RuntimeError(
            f"async fixture {fixture_name!r} has scope {fixturedef.scope!r}; triolet gives "
            "each test its own run, so async fixtures must be function-scoped (use a sync "
            "fixture for wider scopes)"
        )
    func = _bind_to_instance(original, getattr(request, "instance", None))

    def make_placeholder(**kwargs: object) -> _AsyncFixture:
        return _AsyncFixture(fixture_name, func, kwargs)

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
        if isinstance(value, _AsyncFixture):
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
    fixtures = _all_async_fixtures(pyfuncitem.funcargs.values())
    test_fn = pyfuncitem.obj

    @functools.wraps(test_fn)
    def run_test(**test_kwargs: object) -> None:
        test_run = _TestRun(fixtures)
        errors = _core.run(test_run.main, test_fn, test_kwargs, **run_options)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BaseExceptionGroup("the test and its async fixtures raised", errors)

    pyfuncitem.obj = run_test
    try:
        return (yield)
    finally:
        pyfuncitem.obj = test_fn


def _run_options(item: pytest.Function) -> dict[str, Any]:
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


def _all_async_fixtures(values: Any) -> list[_AsyncFixture]:
    """Every placeholder reachable from ``values``, dependencies before dependents."""
    ordered: list[_AsyncFixture] = []
    seen: set[int] = set()

    def visit(fixture: _AsyncFixture) -> None:
        if id(fixture) in seen:
            return
        seen.add(id(fixture))
        for dependency in fixture.dependencies:
            visit(dependency)
        ordered.append(fixture)

    for value in values:
        if isinstance(value, _AsyncFixture):
            visit(value)
    return ordered


class _TestRun:
    """One test and its async fixtures, inside a single triolet run."""

    def __init__(self, fixtures: list[_AsyncFixture]) -> None:
        self.fixtures = fixtures
        for fixture in fixtures:
            for dependency in fixture.dependencies:
                dependency.users_left += 1
        self.errors: list[BaseException] = []
        self.cancel_scope = _core.CancelScope()

    async def main(
        self, test_fn: Callable[..., Any], test_kwargs: dict[str, object]
    ) -> list[BaseException]:
        """Run the fixtures and the test; return what they raised, the most telling first."""
        with self.cancel_scope:
            async with _core.open_nursery() as task_nursery:
                for fixture in self.fixtures:
                    task_nursery.start_soon(self._run_fixture, fixture, name=fixture.name)
                task_nursery.start_soon(
                    self._run_test, test_fn, test_kwargs, name=test_fn.__qualname__
                )
        # Once something failed, the Cancelled errors it caused in other tasks are noise.
        real_errors = [error for error in self.errors if not isinstance(error, _core.Cancelled)]
        return real_errors or self.errors

    def _fail(self, error: BaseException) -> None:
        # A Cancelled raised by our own cancel_scope may have ended up in a fixture's
        # nursery's group: the group escaped before reaching the scope that owns it.
        if isinstance(error, BaseExceptionGroup):
            _, without_cancelled = error.split(_core.Cancelled)
            error = without_cancelled or error
        self.errors.append(error)
        self.cancel_scope.cancel()

    async def _run_test(self, test_fn: Callable[..., Any], test_kwargs: dict[str, object]) -> None:
        try:
            for fixture in self.fixtures:
                await fixture.ready.wait()
            await test_fn(**_resolve(test_kwargs))
        except BaseException as error:
            # Recorded without cancelling: the fixtures are torn down normally.
            self.errors.insert(0, error)
        finally:
            for fixture in self.fixtures:
                fixture.release()

    async def _run_fixture(self, fixture: _AsyncFixture) -> None:
        try:
            for dependency in fixture.dependencies:
                await dependency.ready.wait()
            if inspect.isasyncgenfunction(fixture.func):
                await self._run_generator_fixture(fixture)
            else:
                fixture.value = await fixture.func(**fixture.resolved_kwargs())
                fixture.ready.set()
                await self._wait_for_teardown_turn(fixture)
        except BaseException as error:
            if not isinstance(error, _core.Cancelled):
                error.add_note(f"(raised by the async fixture {fixture.name!r})")
            self._fail(error)
        finally:
            for dependency in fixture.dependencies:
                dependency.release()

    async def _run_generator_fixture(self, fixture: _AsyncFixture) -> None:
        generator = fixture.func(**fixture.resolved_kwargs())
        try:
            fixture.value = await generator.__anext__()
        except StopAsyncIteration:
            raise RuntimeError(f"async fixture {fixture.name!r} did not yield a value") from None
        fixture.ready.set()
        await self._wait_for_teardown_turn(fixture)
        # Resumed rather than thrown into, like pytest's yield fixtures: the code after
        # the yield always runs (under cancellation, if the run was cancelled).
        try:
            await generator.__anext__()
        except StopAsyncIteration:
            return
        raise RuntimeError(
            f"async fixture {fixture.name!r} yielded more than once; a fixture must yield "
            "exactly one value"
        )

    async def _wait_for_teardown_turn(self, fixture: _AsyncFixture) -> None:
        """Wait until the test and the fixtures using ``fixture`` are done with it.

        If this task is cancelled meanwhile (a fixture crashed, or a scope the fixture
        holds open across its yield was cancelled, for instance by a crash in its
        nursery), the whole run is cancelled, and we still wait, shielded, for the users
        to be torn down first, so teardown order holds on every path. The Cancelled is
        dropped: the task stays cancelled, so the teardown's checkpoints raise it again.
        """
        try:
            await fixture.may_tear_down.wait()
        except _core.Cancelled:
            self.cancel_scope.cancel()
            with _core.CancelScope(shield=True):
                await fixture.may_tear_down.wait()
