"""One async test and its async fixtures, inside a single :func:`triolet.run`.

This is the engine of the pytest plugin (``_pytest_plugin``), free of pytest hooks.

While pytest sets up one of our tests, an async fixture is not called: pytest caches an
``AsyncFixture`` placeholder that remembers the fixture function and its arguments (some
of them placeholders too). When pytest calls the test, ``run_test`` starts one run, and
inside it:

* each async fixture runs in a task of its own: it waits for the async fixtures it
  depends on, calls its function, and publishes the value it returns or yields;
* the test runs in another task once every async fixture has a value;
* all those tasks share one ``contextvars.Context``, as if they were one task;
* when the test has ended, each fixture is finished (an async generator is resumed past
  its ``yield``), but only after every fixture that depends on it has been finished.

A fixture that raises (in setup, in teardown, or from a background task of a nursery it
keeps open across its ``yield``) cancels the whole run; the other fixtures are still
finished in order, and the error carries a note naming the fixture. As with pytest's
yield fixtures, the code after a ``yield`` always runs: the generator is resumed, not
thrown into, and runs under cancellation if the run was cancelled. A failing test does
*not* cancel its fixtures: they are torn down normally.

Placeholders hold no run state, so the same ones can serve several runs (one per
Hypothesis example).
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import _core


class AsyncFixture:
    """What pytest caches as an async fixture's value until a test's run sets it up."""

    def __init__(self, name: str, func: Callable[..., Any], kwargs: dict[str, object]) -> None:
        self.name = name
        self.func = func
        self.kwargs = kwargs
        self.dependencies = [value for value in kwargs.values() if isinstance(value, AsyncFixture)]

    def __repr__(self) -> str:
        return (
            f"<async fixture {self.name!r}: its value only exists inside the triolet run of "
            "an async test>"
        )


def all_async_fixtures(values: Iterable[object]) -> list[AsyncFixture]:
    """Every placeholder reachable from ``values``, dependencies before dependents."""
    ordered: list[AsyncFixture] = []
    seen: set[int] = set()

    def visit(fixture: AsyncFixture) -> None:
        if id(fixture) in seen:
            return
        seen.add(id(fixture))
        for dependency in fixture.dependencies:
            visit(dependency)
        ordered.append(fixture)

    for value in values:
        if isinstance(value, AsyncFixture):
            visit(value)
    return ordered


def run_test(
    test_fn: Callable[..., Any],
    args: Sequence[object],
    kwargs: Mapping[str, object],
    fixtures: Iterable[object],
    run_options: Mapping[str, Any],
) -> None:
    """Run ``test_fn(*args, **kwargs)`` in one new triolet run, together with the async
    fixtures among ``fixtures`` (every fixture value of the test, autouse ones included)
    and those they depend on; raise what failed (an exception group if several did)."""
    test_run = _TestRun(all_async_fixtures(fixtures))
    errors = _core.run(test_run.main, test_fn, args, kwargs, **run_options)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BaseExceptionGroup("the test and its async fixtures raised", errors)


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


class _FixtureInRun:
    """One async fixture's state during one run."""

    def __init__(self, fixture: AsyncFixture) -> None:
        self.fixture = fixture
        self.dependencies: list[_FixtureInRun] = []
        self.value: object = None
        self.ready = _Flag()
        # The test, plus each fixture depending on this one, must be done with it
        # before it is finished.
        self.users_left = 1
        self.may_finish = _Flag()

    def release(self) -> None:
        self.users_left -= 1
        if self.users_left == 0:
            self.may_finish.set()


class _TestRun:
    def __init__(self, fixtures: list[AsyncFixture]) -> None:
        self.states = {id(fixture): _FixtureInRun(fixture) for fixture in fixtures}
        for state in self.states.values():
            for dependency in state.fixture.dependencies:
                dependency_state = self.states[id(dependency)]
                state.dependencies.append(dependency_state)
                dependency_state.users_left += 1
        self.errors: list[BaseException] = []
        self.cancel_scope = _core.CancelScope()

    def resolve(self, kwargs: Mapping[str, object]) -> dict[str, object]:
        return {
            name: self.states[id(value)].value if isinstance(value, AsyncFixture) else value
            for name, value in kwargs.items()
        }

    async def main(
        self, test_fn: Callable[..., Any], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> list[BaseException]:
        """Run the fixtures and the test; return what they raised, the test's error first."""
        # The fixtures and the test share one contextvars.Context, as if they ran in one
        # task: a context variable a fixture sets is seen by the test. A Context can
        # serve several tasks because the kernel enters it only during one task's step.
        shared_context = contextvars.copy_context()
        with self.cancel_scope:
            async with _core.open_nursery() as task_nursery:
                for state in self.states.values():
                    task_nursery.start_soon(self._run_fixture, state, name=state.fixture.name)
                task_nursery.start_soon(
                    self._run_test, test_fn, args, kwargs, name=test_fn.__qualname__
                )
                # None of them has taken a step yet.
                for task in task_nursery.child_tasks:
                    task.context = shared_context
        # Once something failed, the Cancelled errors it caused in other tasks are noise.
        real_errors = [error for error in self.errors if not isinstance(error, _core.Cancelled)]
        return real_errors or self.errors

    def _fail(self, error: BaseException) -> None:
        # A Cancelled raised by our own cancel_scope may end up inside the group of a
        # fixture's nursery: that group escaped before reaching the scope that owns it.
        if isinstance(error, BaseExceptionGroup):
            _, without_cancelled = error.split(_core.Cancelled)
            error = without_cancelled or error
        self.errors.append(error)
        self.cancel_scope.cancel()

    async def _run_test(
        self, test_fn: Callable[..., Any], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> None:
        try:
            for state in self.states.values():
                await state.ready.wait()
            await test_fn(*args, **self.resolve(kwargs))
        except BaseException as error:
            # Recorded without cancelling: the fixtures are torn down normally.
            self.errors.insert(0, error)
        finally:
            for state in self.states.values():
                state.release()

    async def _run_fixture(self, state: _FixtureInRun) -> None:
        fixture = state.fixture
        try:
            for dependency in state.dependencies:
                await dependency.ready.wait()
            if inspect.isasyncgenfunction(fixture.func):
                await self._run_generator_fixture(state)
            else:
                state.value = await fixture.func(**self.resolve(fixture.kwargs))
                state.ready.set()
                await self._wait_for_turn_to_finish(state)
        except BaseException as error:
            if not isinstance(error, _core.Cancelled):
                error.add_note(f"(raised by the async fixture {fixture.name!r})")
            self._fail(error)
        finally:
            for dependency in state.dependencies:
                dependency.release()

    async def _run_generator_fixture(self, state: _FixtureInRun) -> None:
        fixture = state.fixture
        generator = fixture.func(**self.resolve(fixture.kwargs))
        try:
            state.value = await generator.__anext__()
        except StopAsyncIteration:
            raise RuntimeError(f"async fixture {fixture.name!r} did not yield a value") from None
        state.ready.set()
        await self._wait_for_turn_to_finish(state)
        try:
            await generator.__anext__()
        except StopAsyncIteration:
            return
        # Finish it here: left suspended, it would be finalized after the run is gone.
        await generator.aclose()
        raise RuntimeError(
            f"async fixture {fixture.name!r} yielded more than once; a fixture must yield "
            "exactly one value"
        )

    async def _wait_for_turn_to_finish(self, state: _FixtureInRun) -> None:
        """Wait until the test and the fixtures using this one are done with it.

        If this task is cancelled meanwhile (a fixture crashed, or a scope the fixture
        holds open across its yield was cancelled, for instance by a crash in its
        nursery), the whole run is cancelled, and we still wait, shielded, for the users
        to be finished first, so teardown order holds on every path. The Cancelled is
        dropped: the task stays cancelled, so the teardown's checkpoints raise it again.
        """
        try:
            await state.may_finish.wait()
        except _core.Cancelled:
            self.cancel_scope.cancel()
            with _core.CancelScope(shield=True):
                await state.may_finish.wait()
