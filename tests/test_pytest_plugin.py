"""The pytest plugin, exercised through pytester in-process runs of small test files."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]


def run_inner(
    pytester: pytest.Pytester,
    source: str,
    *,
    mode: bool = True,
    args: tuple[str, ...] = (),
    autoload: bool = False,
) -> pytest.RunResult:
    """Run ``source`` as a test file in-process; return pytest's result.

    Other installed plugins are not loaded unless ``autoload``: pytester forgets the
    modules they import after each run, so each run would re-import them (seconds).
    """
    if mode:
        pytester.makeini("[pytest]\ntriolet_mode = true\n")
    pytester.makepyfile(textwrap.dedent(source))
    if autoload:
        return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        return pytester.runpytest_inprocess(
            "-p",
            "no:cacheprovider",
            "-p",
            "triolet",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *args,
        )


# ------------------------------------------------------------------------ which tests run
def test_mode_runs_async_tests_under_triolet(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import sniffio, triolet

        async def test_inside_run():
            assert triolet.lowlevel.in_trio_run()
            assert sniffio.current_async_library() == "triolet"
        """,
        autoload=True,  # also checks that the pytest11 entry point registers the plugin
    )
    result.assert_outcomes(passed=1)


def test_without_mode_an_unmarked_async_test_is_not_ours(pytester: pytest.Pytester) -> None:
    result = run_inner(pytester, "async def test_unmarked():\n    pass\n", mode=False)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


def test_mark_runs_an_async_test_without_mode(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        @pytest.mark.triolet
        async def test_marked():
            await triolet.sleep(0)
            assert triolet.lowlevel.in_trio_run()
        """,
        mode=False,
    )
    result.assert_outcomes(passed=1)


def test_module_mark_applies_to_async_tests_and_spares_sync_ones(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        pytestmark = pytest.mark.triolet

        class TestGroup:
            async def test_async_method(self):
                await triolet.sleep(0)

        def test_sync():
            assert not triolet.lowlevel.in_trio_run()
        """,
        mode=False,
    )
    result.assert_outcomes(passed=2)


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.mark.triolet
        async def test_marked():
            pass
        """,
        args=("--strict-markers",),
    )
    result.assert_outcomes(passed=1)


# -------------------------------------------------------------------------- async fixtures
def test_fixtures_and_test_share_one_run(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        @pytest.fixture
        async def token():
            return triolet.lowlevel.current_trio_token()

        @pytest.fixture
        async def token_from_generator(token):
            yield token, triolet.lowlevel.current_trio_token()

        async def test_same_run(token, token_from_generator):
            assert token_from_generator == (token, token)
            assert token is triolet.lowlevel.current_trio_token()
        """,
    )
    result.assert_outcomes(passed=1)


def test_generator_fixtures_tear_down_in_reverse_dependency_order(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        log = []

        @pytest.fixture
        async def base():
            log.append("base up")
            await triolet.sleep(0)
            yield "base"
            await triolet.sleep(0)
            log.append("base down")

        @pytest.fixture
        async def middle(base):
            log.append("middle up")
            yield base + "+middle"
            await triolet.sleep(0)
            log.append("middle down")

        @pytest.fixture
        async def top(middle, base):
            log.append("top up")
            yield middle + "+top"
            log.append("top down")

        async def test_uses_all(base, top):
            log.append("test")
            assert top == "base+middle+top"

        def test_order():
            assert log == [
                "base up", "middle up", "top up", "test", "top down", "middle down", "base down"
            ]
        """,
    )
    result.assert_outcomes(passed=2)


def test_autouse_async_fixture_is_set_up_before_the_test(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        state = []

        @pytest.fixture(autouse=True)
        async def prepared():
            state.append("ready")
            yield
            state.append("done")

        async def test_sees_setup():
            assert state == ["ready"]

        async def test_torn_down_then_set_up_again():
            assert state == ["ready", "done", "ready"]
        """,
    )
    result.assert_outcomes(passed=2)


def test_async_fixture_in_a_class_is_bound_to_the_test_instance(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        class TestBinding:
            @pytest.fixture
            async def owner(self):
                yield self

            async def test_same_instance(self, owner):
                assert owner is self
        """,
    )
    result.assert_outcomes(passed=1)


def test_parametrized_async_fixture(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture(params=[1, 2, 3])
        async def number(request):
            yield request.param * 10

        async def test_number(number):
            assert number in (10, 20, 30)
        """,
    )
    result.assert_outcomes(passed=3)


def test_failing_test_still_tears_fixtures_down_uncancelled(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        log = []

        @pytest.fixture
        async def resource():
            yield
            await triolet.sleep(0.001)  # would raise Cancelled if teardown were cancelled
            log.append("closed")

        async def test_fails(resource):
            assert False, "test body failed"

        def test_resource_closed():
            assert log == ["closed"]
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test body failed*"])


# ------------------------------------------------------------------------ nursery fixture
def test_nursery_fixture_runs_background_tasks_and_cancels_them(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import triolet

        log = []

        async def test_background(nursery):
            async def server():
                log.append("started")
                try:
                    await triolet.sleep_forever()
                finally:
                    log.append("cancelled")

            nursery.start_soon(server)
            await triolet.testing.wait_all_tasks_blocked()
            assert log == ["started"]

        def test_cancelled_after_test():
            assert log == ["started", "cancelled"]
        """,
    )
    result.assert_outcomes(passed=2)


def test_crash_in_a_fixture_background_task_cancels_the_test(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        @pytest.fixture
        async def crashing_server(nursery):
            async def crash():
                await triolet.sleep(0.001)
                raise ValueError("server crashed")

            nursery.start_soon(crash)
            yield

        async def test_waits_forever(crashing_server):
            await triolet.sleep_forever()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async fixture 'nursery'*", "*ValueError: server crashed*"])


# ---------------------------------------------------------------------------- fixture errors
def test_fixture_setup_error_names_the_fixture_and_skips_the_test(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        log = []

        @pytest.fixture
        async def healthy():
            yield
            log.append("healthy torn down")

        @pytest.fixture
        async def broken(healthy):
            await triolet.sleep(0)
            raise KeyError("no database")
            yield

        async def test_never_runs(healthy, broken):
            log.append("test ran")

        def test_log():
            assert log == ["healthy torn down"]
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'no database'*", "*async fixture 'broken'*"])


def test_fixture_teardown_error_is_reported(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def leaky():
            yield
            raise OSError("could not close")

        async def test_passes(leaky):
            pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*OSError: could not close*", "*async fixture 'leaky'*"])


def test_generator_fixture_that_does_not_yield(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def empty():
            if False:
                yield

        async def test_uses(empty):
            pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async fixture 'empty' did not yield a value*"])


def test_generator_fixture_that_yields_twice(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        closed = []

        @pytest.fixture
        async def twice():
            try:
                yield 1
                yield 2
            finally:
                closed.append(True)

        async def test_uses(twice):
            pass

        def test_generator_was_closed():
            assert closed == [True]
        """,
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*async fixture 'twice' yielded more than once*"])


def test_failing_test_and_failing_fixture_are_both_reported(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def leaky():
            yield
            raise OSError("teardown failed")

        async def test_fails(leaky):
            raise ValueError("test failed")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test and its async fixtures raised*"])
    result.stdout.fnmatch_lines(["*ValueError: test failed*"])
    result.stdout.fnmatch_lines(["*OSError: teardown failed*"])


def test_sync_fixture_returning_a_coroutine_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        async def make_value():
            return 1

        @pytest.fixture
        def sneaky():
            return make_value()

        async def test_uses(sneaky):
            pass
        """,
        args=("-W", "error::RuntimeWarning"),
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'sneaky' is a sync function that returned coroutine*"])
    result.stdout.no_fnmatch_line("*never awaited*")


def test_sync_fixture_depending_on_async_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def async_value():
            return 1

        @pytest.fixture
        def sync_value(async_value):
            return async_value + 1

        async def test_uses(sync_value):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*sync fixture 'sync_value' depends on async fixture 'async_value'*"]
    )


def test_sync_test_requesting_async_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def async_value():
            return 1

        def test_sync(async_value):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*requested the async fixture 'async_value'*"])


def test_module_scoped_async_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture(scope="module")
        async def shared():
            return 1

        async def test_uses(shared):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must be function-scoped*"])


# ------------------------------------------------------------------------------ run options
def test_autojump_clock_fixture_becomes_the_run_clock(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import triolet

        async def test_jumps(autojump_clock):
            assert triolet.lowlevel.current_clock() is autojump_clock
            await triolet.sleep(3600)
            assert triolet.current_time() == 3600
        """,
    )
    result.assert_outcomes(passed=1)


def test_mock_clock_fixture_becomes_the_run_clock(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import triolet

        async def test_manual(mock_clock):
            assert triolet.lowlevel.current_clock() is mock_clock
            mock_clock.jump(5)
            assert triolet.current_time() == 5
        """,
    )
    result.assert_outcomes(passed=1)


def test_two_clocks_are_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        "async def test_clocks(mock_clock, autojump_clock):\n    pass\n",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*has more than one clock*"])


def test_mark_keyword_arguments_are_run_options(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        @pytest.mark.triolet(strict_exception_groups=False)
        async def test_loose_groups():
            with pytest.raises(KeyError):
                async with triolet.open_nursery() as nursery:
                    async def fail():
                        raise KeyError("x")
                    nursery.start_soon(fail)

        @pytest.mark.triolet(clock=triolet.testing.MockClock(autojump_threshold=0))
        async def test_clock_from_mark():
            await triolet.sleep(100)
            assert triolet.current_time() == 100
        """,
    )
    result.assert_outcomes(passed=2)


def test_unknown_mark_option_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.mark.triolet(timeout=3)
        async def test_marked():
            pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown option(s)*timeout*"])


def test_instrument_fixture_is_installed(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet

        class Recorder(triolet.abc.Instrument):
            def __init__(self):
                self.events = []

            def before_run(self):
                self.events.append("before_run")

        @pytest.fixture
        def recorder():
            return Recorder()

        async def test_instrumented(recorder):
            assert recorder.events == ["before_run"]
        """,
    )
    result.assert_outcomes(passed=1)


def test_getfixturevalue_of_an_async_fixture_inside_the_test_is_an_error(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import pytest

        @pytest.fixture
        async def value():
            return 1

        async def test_dynamic(request):
            request.getfixturevalue("value")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'value' was requested while its test is running*"])


# ------------------------------------------------------------------------------ hypothesis
def test_each_hypothesis_example_gets_its_own_run(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import triolet
        from hypothesis import given, settings, strategies as st

        tokens = []

        @settings(max_examples=10, deadline=None, database=None)
        @given(st.integers(min_value=0, max_value=100))
        async def test_property(number):
            await triolet.sleep(0)
            tokens.append(triolet.lowlevel.current_trio_token())

        def test_runs_were_distinct():
            assert len(tokens) >= 2
            assert len({id(token) for token in tokens}) == len(tokens)
        """,
    )
    result.assert_outcomes(passed=2)


def test_hypothesis_example_sets_up_async_fixtures_in_its_run(pytester: pytest.Pytester) -> None:
    result = run_inner(
        pytester,
        """
        import pytest, triolet
        from hypothesis import HealthCheck, given, settings, strategies as st

        events = []

        @pytest.fixture
        async def resource():
            events.append("up")
            yield triolet.lowlevel.current_trio_token()
            events.append("down")

        @settings(
            max_examples=5,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(number=st.integers())
        async def test_property(resource, number):
            assert resource is triolet.lowlevel.current_trio_token()

        def test_set_up_and_torn_down_per_example():
            assert len(events) >= 4
            assert events == ["up", "down"] * (len(events) // 2)
        """,
    )
    result.assert_outcomes(passed=2)


def test_context_variable_set_by_a_fixture_is_seen_by_the_test(
    pytester: pytest.Pytester,
) -> None:
    result = run_inner(
        pytester,
        """
        import contextvars, pytest, triolet

        request_id = contextvars.ContextVar("request_id", default=None)

        @pytest.fixture
        async def tagged():
            request_id.set("fixture-set")
            yield
            assert request_id.get() == "test-set"

        @pytest.fixture
        async def reader(tagged):
            yield request_id.get()

        async def test_sees_it(tagged, reader, nursery):
            assert reader == "fixture-set"
            assert request_id.get() == "fixture-set"
            seen_in_background = []

            async def background():
                seen_in_background.append(request_id.get())

            nursery.start_soon(background)
            await triolet.testing.wait_all_tasks_blocked()
            assert seen_in_background == ["fixture-set"]
            request_id.set("test-set")
        """,
    )
    result.assert_outcomes(passed=1)
