"""Small helpers shared by the kernel: constructor guards, naming, async-fn validation."""

from __future__ import annotations

import collections.abc
import inspect
import types
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

T = TypeVar("T")


_C = TypeVar("_C", bound=type)

if TYPE_CHECKING:
    from typing import final as final
else:

    def final(cls: _C) -> _C:
        """Mark ``cls`` final: defining a subclass of it raises TypeError.

        The one way triolet's public classes refuse subclassing (as trio's do); a class
        decorator rather than a metaclass, so it combines with ABCs and Generic.
        """

        def refuse_subclass(subclass: type, /, **kwargs: object) -> None:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} does not support subclassing; "
                f"wrap an instance of it instead of defining {subclass.__qualname__}"
            )

        cls.__init_subclass__ = classmethod(refuse_subclass)
        return cls


class NoPublicConstructor(type):
    """Metaclass for classes that users may catch and inspect but never build (nor subclass).

    The kernel creates instances with ``cls._create(...)``. Classes made with it are
    :func:`final` too.
    """

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object], **kw: object
    ) -> NoPublicConstructor:
        return final(super().__new__(mcs, name, bases, namespace, **kw))

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__} has no public constructor; "
            "the library creates these for you"
        )

    def _create(cls: type[T], *args: Any, **kwargs: Any) -> T:
        return super().__call__(*args, **kwargs)  # type: ignore[misc, no-any-return]


def name_of(obj: object) -> str:
    """A readable dotted name for a function or other callable (used for task names)."""
    inner = obj
    while callable(getattr(inner, "func", None)):  # functools.partial and friends
        inner = inner.func  # type: ignore[attr-defined]
    qualname = getattr(inner, "__qualname__", None)
    if qualname is None:
        return repr(obj)
    module = getattr(inner, "__module__", None)
    return f"{module}.{qualname}" if module else str(qualname)


_WRONG_COROUTINE = """\
triolet was expecting an async function, but instead it got a coroutine object {coro!r}

Probably you did something like:

  triolet.run({name}(...))            # incorrect!
  nursery.start_soon({name}(...))  # incorrect!

Instead, you want (notice the parentheses!):

  triolet.run({name}, ...)            # correct!
  nursery.start_soon({name}, ...)  # correct!"""


def coroutine_or_error(
    async_fn: Callable[..., object], args: tuple[object, ...]
) -> Coroutine[Any, Any, Any]:
    """Call ``async_fn(*args)`` and check that it produced a coroutine.

    Raises TypeError with a message that explains the usual mistakes: passing a
    coroutine object instead of the function, passing a synchronous function, or
    passing something from another async framework (an asyncio Future, say).
    """
    if type(async_fn) is not types.CoroutineType:  # type: ignore[comparison-overlap]  # fast path
        coro = async_fn(*args) if callable(async_fn) else None
        if type(coro) is types.CoroutineType:
            return coro
    else:
        coro = None
    return check_coroutine(async_fn, args, coro)


def check_coroutine(
    async_fn: Callable[..., object], args: tuple[object, ...], coro: object
) -> Coroutine[Any, Any, Any]:
    if inspect.iscoroutine(async_fn):
        # Close it so Python does not also warn "coroutine was never awaited".
        name = getattr(async_fn, "__qualname__", "fn")
        async_fn.close()
        raise TypeError(_WRONG_COROUTINE.format(coro=async_fn, name=name))
    if not callable(async_fn):
        raise TypeError(
            f"triolet expected an async function, but got {async_fn!r}, which is not callable"
        )
    if isinstance(coro, collections.abc.Coroutine):
        return coro
    if inspect.isgenerator(coro) and coro.gi_code.co_flags & inspect.CO_ITERABLE_COROUTINE:
        return coro  # type: ignore[return-value]
    if getattr(coro, "_asyncio_future_blocking", None) is not None or inspect.isawaitable(coro):
        raise TypeError(
            f"triolet got unexpected {coro!r} from {name_of(async_fn)}: it returned an "
            "awaitable from another framework (asyncio?), not a coroutine. triolet can only run "
            "async functions written for triolet or trio"
        )
    raise TypeError(
        f"triolet expected an async function, but {name_of(async_fn)!r} appears to be "
        f"synchronous (calling it returned {coro!r}); define it with 'async def'"
    )
