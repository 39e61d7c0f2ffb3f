"""Async file objects: ``open_file``, ``wrap_file`` and :class:`AsyncIOWrapper`.

Disk I/O can't be waited for with epoll, so every call that may block (read, write,
seek, flush, close, ...) runs in a worker thread through ``to_thread.run_sync``.
Attributes that never block (``name``, ``closed``, ``fileno()``, ...) are passed
straight through. Which attribute is which is decided by the two tables below; an
attribute the wrapped object doesn't have is an AttributeError, as on the object.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

from ._abc import AsyncResource
from ._core import CancelScope, checkpoint_if_cancelled
from ._threads import to_thread_run_sync

FileT = TypeVar("FileT")

# Attributes that never block: returned from the wrapped file as they are.
SYNC_ATTRIBUTES = frozenset(
    {
        "buffer",
        "closed",
        "closefd",
        "encoding",
        "errors",
        "fileno",
        "getbuffer",
        "getvalue",
        "isatty",
        "line_buffering",
        "mode",
        "name",
        "newlines",
        "raw",
        "readable",
        "seekable",
        "writable",
    }
)

# Methods that may block: each becomes an async method that runs it in a worker thread.
THREADED_METHODS = frozenset(
    {
        "flush",
        "peek",
        "read",
        "read1",
        "readall",
        "readinto",
        "readinto1",
        "readline",
        "readlines",
        "seek",
        "tell",
        "truncate",
        "write",
        "writelines",
    }
)


class AsyncIOWrapper(AsyncResource, Generic[FileT]):
    """An async view of a file object: blocking methods become awaitables run in threads.

    ``await f.read()``, ``await f.write(data)``, ``await f.seek(0)`` and the other
    methods that may block run in a worker thread (each is a checkpoint); attributes
    such as ``name``, ``mode``, ``closed`` and ``fileno()`` stay synchronous. Iterate with
    ``async for line in f``. ``wrapped`` is the underlying file object.
    """

    def __init__(self, file: FileT) -> None:
        self._wrapped = file

    @property
    def wrapped(self) -> FileT:
        """The file object this wrapper delegates to."""
        return self._wrapped

    def __repr__(self) -> str:
        return f"<triolet.AsyncIOWrapper wrapping {self._wrapped!r}>"

    def __getattr__(self, name: str) -> Any:
        if name == "_wrapped":
            # Only reached before __init__ ran (copy, pickle): don't recurse looking for it.
            raise AttributeError(name)
        if name in SYNC_ATTRIBUTES:
            return getattr(self._wrapped, name)
        if name in THREADED_METHODS:
            blocking_method = getattr(self._wrapped, name)
            threaded = _threaded(blocking_method)
            # Cache it: later lookups find it in the instance dict, skipping __getattr__.
            setattr(self, name, threaded)
            return threaded
        raise AttributeError(
            f"{type(self).__name__!r} object (wrapping {type(self._wrapped).__name__!r}) has "
            f"no attribute {name!r}"
        )

    def __dir__(self) -> list[str]:
        available = {
            name for name in SYNC_ATTRIBUTES | THREADED_METHODS if hasattr(self._wrapped, name)
        }
        return sorted(set(super().__dir__()) | available)

    def __aiter__(self) -> AsyncIOWrapper[FileT]:
        return self

    async def __anext__(self) -> Any:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def detach(self) -> AsyncIOWrapper[Any]:
        """Detach the underlying raw or binary stream (in a thread) and return it wrapped.

        This wrapper is unusable afterwards, like the file object after ``detach()``.
        """
        detach: Callable[[], Any] = self._wrapped.detach  # type: ignore[attr-defined]
        return wrap_file(await to_thread_run_sync(detach))

    async def aclose(self) -> None:
        """Close the file (in a thread). A checkpoint.

        The file is closed even if the caller is cancelled meanwhile; Cancelled is then
        raised afterwards.
        """
        close: Callable[[], object] = self._wrapped.close  # type: ignore[attr-defined]
        with CancelScope(shield=True):
            await to_thread_run_sync(close)
        await checkpoint_if_cancelled()


def _threaded(blocking_method: Callable[..., Any]) -> Callable[..., Any]:
    async def run_in_thread(*args: Any, **kwargs: Any) -> Any:
        return await to_thread_run_sync(partial(blocking_method, *args, **kwargs))

    run_in_thread.__name__ = getattr(blocking_method, "__name__", "method")
    run_in_thread.__qualname__ = f"AsyncIOWrapper.{run_in_thread.__name__}"
    run_in_thread.__doc__ = f"Like the file's {run_in_thread.__name__}(), run in a worker thread."
    return run_in_thread


def wrap_file(file: FileT) -> AsyncIOWrapper[FileT]:
    """Wrap an already open file object in an :class:`AsyncIOWrapper`.

    TypeError unless ``file`` has a ``close`` method and a ``read`` or ``write`` method.
    """

    def has_method(name: str) -> bool:
        return callable(getattr(file, name, None))

    if not (has_method("close") and (has_method("read") or has_method("write"))):
        raise TypeError(
            f"{file!r} does not look like a file object: wrap_file needs one with a close() "
            "method and a read() or write() method"
        )
    return AsyncIOWrapper(file)


async def open_file(
    file: int | str | bytes | os.PathLike[str] | os.PathLike[bytes],
    mode: str = "r",
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: Callable[[str, int], int] | None = None,
) -> AsyncIOWrapper[Any]:
    """Open a file like :func:`open` does, in a worker thread, and return it wrapped.

    Takes the same arguments as :func:`open` and raises the same errors. A checkpoint.
    Use it with ``async with await open_file(...) as f:``.
    """
    opened = await to_thread_run_sync(
        io.open, file, mode, buffering, encoding, errors, newline, closefd, opener
    )
    return wrap_file(opened)
