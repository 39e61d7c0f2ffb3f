"""RunVar: a value per run, shared by every task of that run."""

from __future__ import annotations

import pytest

import triolet
from triolet import lowlevel
from triolet.testing import wait_all_tasks_blocked

answer: lowlevel.RunVar[int] = lowlevel.RunVar("answer")
with_default: lowlevel.RunVar[str] = lowlevel.RunVar("with_default", default="the default")


def test_get_outside_a_run_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        answer.get()


def test_set_outside_a_run_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        answer.set(1)


async def test_get_of_an_unset_runvar_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        answer.get()


async def test_get_returns_the_constructor_default() -> None:
    assert with_default.get() == "the default"


async def test_get_returns_the_default_argument_first() -> None:
    assert answer.get(7) == 7
    assert with_default.get("argument") == "argument"


async def test_set_then_get() -> None:
    answer.set(42)
    assert answer.get() == 42
    assert answer.get(7) == 42


async def test_value_is_shared_by_every_task_of_the_run() -> None:
    seen = []

    async def child() -> None:
        seen.append(answer.get())
        answer.set(2)

    answer.set(1)
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(child)
    assert seen == [1]
    assert answer.get() == 2


def test_value_does_not_survive_into_the_next_run() -> None:
    async def setter() -> None:
        answer.set(99)

    async def getter() -> int:
        return answer.get(-1)

    triolet.run(setter)
    assert triolet.run(getter) == -1


async def test_reset_restores_the_previous_value() -> None:
    answer.set(1)
    token = answer.set(2)
    assert token.previous_value == 1
    answer.reset(token)
    assert answer.get() == 1


async def test_reset_of_the_first_set_makes_it_unset_again() -> None:
    token = answer.set(5)
    answer.reset(token)
    with pytest.raises(LookupError):
        answer.get()


async def test_reset_twice_with_one_token_is_a_value_error() -> None:
    token = answer.set(5)
    answer.reset(token)
    with pytest.raises(ValueError):
        answer.reset(token)


async def test_reset_with_another_runvars_token_is_a_value_error() -> None:
    token = with_default.set("x")
    with pytest.raises(ValueError):
        answer.reset(token)  # type: ignore[arg-type]


async def test_reset_with_none_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        answer.reset(None)  # type: ignore[arg-type]


async def test_runvar_token_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        lowlevel.RunVarToken()  # type: ignore[call-arg]


async def test_runvar_cannot_be_subclassed() -> None:
    with pytest.raises(TypeError):

        class MyVar(lowlevel.RunVar):  # type: ignore[misc,type-arg]
            pass


async def test_runvar_repr_names_it() -> None:
    assert "answer" in repr(answer)


async def test_system_tasks_see_the_same_value() -> None:
    seen = []

    async def system_task() -> None:
        seen.append(answer.get())

    answer.set(3)
    lowlevel.spawn_system_task(system_task)
    await wait_all_tasks_blocked()
    assert seen == [3]
