"""Async paths: :class:`Path`, :class:`PosixPath`, :class:`WindowsPath`.

A triolet ``Path`` is a :class:`pathlib.PurePath`: joining, ``parent``, ``name``,
``with_suffix`` and the other pure operations are synchronous and return triolet paths.
Every method that touches the file system is async: it builds the equivalent
:class:`pathlib.Path` and runs the blocking call in a worker thread. Results that are
paths come back as triolet paths; directory listings are read completely in the thread.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Callable, Iterator
from functools import partial
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar

from ._file_io import AsyncIOWrapper, wrap_file
from ._threads import to_thread_run_sync

if TYPE_CHECKING:
    from typing import Self

T = TypeVar("T")


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await to_thread_run_sync(partial(fn, *args, **kwargs))


class Path(pathlib.PurePath):
    """A file-system path whose I/O methods are async (run in worker threads).

    ``Path(...)`` makes a :class:`PosixPath` or a :class:`WindowsPath`, whichever fits the
    system, as :class:`pathlib.Path` does. Pure operations (``/``, ``parent``,
    ``with_name``, ...) are synchronous; everything that reads or changes the file
    system is awaited and raises what :mod:`pathlib` raises.
    """

    __slots__ = ()
    _sync_type: ClassVar[type[pathlib.Path]]

    def __new__(cls, *args: str | os.PathLike[str]) -> Self:
        if cls is Path:
            cls = WindowsPath if os.name == "nt" else PosixPath  # type: ignore[assignment]
        return super().__new__(cls, *args)

    def __repr__(self) -> str:
        return f"triolet.Path({str(self)!r})"

    def _sync(self) -> pathlib.Path:
        return self._sync_type(self)

    def _wrap(self, path: os.PathLike[str] | str) -> Self:
        return type(self)(path)

    def _wrap_all(self, paths: list[pathlib.Path]) -> Iterator[Self]:
        return iter([self._wrap(path) for path in paths])

    # -- constructors -------------------------------------------------------------
    @classmethod
    async def cwd(cls) -> Self:
        """The current working directory."""
        return cls(await _in_thread(os.getcwd))

    @classmethod
    async def home(cls) -> Self:
        """The user's home directory."""
        return cls(await _in_thread(os.path.expanduser, "~"))

    # -- methods that return paths --------------------------------------------------
    async def absolute(self) -> Self:
        """This path made absolute (without resolving symlinks)."""
        return self._wrap(await _in_thread(self._sync().absolute))

    async def expanduser(self) -> Self:
        """This path with ``~`` and ``~user`` expanded."""
        return self._wrap(await _in_thread(self._sync().expanduser))

    async def readlink(self) -> Self:
        """The path a symbolic link points to."""
        return self._wrap(await _in_thread(self._sync().readlink))

    async def rename(self, target: str | os.PathLike[str]) -> Self:
        """Rename this file or directory to ``target``; return the new path."""
        return self._wrap(await _in_thread(self._sync().rename, target))

    async def replace(self, target: str | os.PathLike[str]) -> Self:
        """Rename to ``target``, replacing it if it exists; return the new path."""
        return self._wrap(await _in_thread(self._sync().replace, target))

    async def resolve(self, strict: bool = False) -> Self:
        """This path made absolute, with symlinks and ``..`` resolved."""
        return self._wrap(await _in_thread(self._sync().resolve, strict))

    # -- methods that list directories ---------------------------------------------
    async def iterdir(self) -> Iterator[Self]:
        """The entries of this directory (read in full in a thread), as paths."""
        return self._wrap_all(await _in_thread(_listed, self._sync().iterdir))

    async def glob(self, pattern: str) -> Iterator[Self]:
        """The paths under this directory matching ``pattern`` (read in full in a thread)."""
        return self._wrap_all(await _in_thread(_listed, self._sync().glob, pattern))

    async def rglob(self, pattern: str) -> Iterator[Self]:
        """Like :meth:`glob` with ``**/`` in front of ``pattern``: a recursive search."""
        return self._wrap_all(await _in_thread(_listed, self._sync().rglob, pattern))

    # -- opening ------------------------------------------------------------------
    async def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> AsyncIOWrapper[IO[Any]]:
        """Open the file, as :func:`triolet.open_file` does, and return the async file object."""
        opened: IO[Any] = await _in_thread(
            self._sync().open, mode, buffering, encoding, errors, newline
        )
        return wrap_file(opened)

    # -- everything else: same result as pathlib ------------------------------------
    async def chmod(self, mode: int, *, follow_symlinks: bool = True) -> None:
        """Change the file's permission bits."""
        await _in_thread(self._sync().chmod, mode, follow_symlinks=follow_symlinks)

    async def exists(self) -> bool:
        """Whether the path exists."""
        return await _in_thread(self._sync().exists)

    async def group(self) -> str:
        """The name of the group owning the file."""
        return await _in_thread(self._sync().group)

    async def hardlink_to(self, target: str | os.PathLike[str]) -> None:
        """Make this path a hard link to ``target``."""
        await _in_thread(self._sync().hardlink_to, target)

    async def is_block_device(self) -> bool:
        """Whether the path is a block device."""
        return await _in_thread(self._sync().is_block_device)

    async def is_char_device(self) -> bool:
        """Whether the path is a character device."""
        return await _in_thread(self._sync().is_char_device)

    async def is_dir(self) -> bool:
        """Whether the path is a directory (following symlinks)."""
        return await _in_thread(self._sync().is_dir)

    async def is_fifo(self) -> bool:
        """Whether the path is a FIFO."""
        return await _in_thread(self._sync().is_fifo)

    async def is_file(self) -> bool:
        """Whether the path is a regular file (following symlinks)."""
        return await _in_thread(self._sync().is_file)

    async def is_mount(self) -> bool:
        """Whether the path is a mount point."""
        return await _in_thread(self._sync().is_mount)

    async def is_socket(self) -> bool:
        """Whether the path is a Unix socket."""
        return await _in_thread(self._sync().is_socket)

    async def is_symlink(self) -> bool:
        """Whether the path is a symbolic link."""
        return await _in_thread(self._sync().is_symlink)

    async def lchmod(self, mode: int) -> None:
        """Like :meth:`chmod`, but changes a symlink itself rather than its target."""
        await _in_thread(self._sync().lchmod, mode)

    async def lstat(self) -> os.stat_result:
        """Like :meth:`stat`, but about a symlink itself rather than its target."""
        return await _in_thread(self._sync().lstat)

    async def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Create this directory."""
        await _in_thread(self._sync().mkdir, mode, parents, exist_ok)

    async def owner(self) -> str:
        """The name of the user owning the file."""
        return await _in_thread(self._sync().owner)

    async def read_bytes(self) -> bytes:
        """The file's contents, as bytes."""
        return await _in_thread(self._sync().read_bytes)

    async def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        """The file's contents, decoded to text."""
        return await _in_thread(self._sync().read_text, encoding, errors)

    async def rmdir(self) -> None:
        """Remove this (empty) directory."""
        await _in_thread(self._sync().rmdir)

    async def samefile(self, other_path: str | os.PathLike[str]) -> bool:
        """Whether this path and ``other_path`` are the same file."""
        # pathlib would call other_path.stat(), which on a triolet Path is a coroutine.
        return await _in_thread(self._sync().samefile, os.fspath(other_path))

    async def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        """The file's :func:`os.stat` result."""
        return await _in_thread(self._sync().stat, follow_symlinks=follow_symlinks)

    async def symlink_to(
        self, target: str | os.PathLike[str], target_is_directory: bool = False
    ) -> None:
        """Make this path a symbolic link to ``target``."""
        await _in_thread(self._sync().symlink_to, target, target_is_directory)

    async def touch(self, mode: int = 0o666, exist_ok: bool = True) -> None:
        """Create the file if it doesn't exist, else update its modification time."""
        await _in_thread(self._sync().touch, mode, exist_ok)

    async def unlink(self, missing_ok: bool = False) -> None:
        """Remove this file or symbolic link."""
        await _in_thread(self._sync().unlink, missing_ok)

    async def write_bytes(self, data: bytes) -> int:
        """Replace the file's contents with ``data``; return the number of bytes written."""
        return await _in_thread(self._sync().write_bytes, data)

    async def write_text(
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        """Replace the file's contents with ``data``; return the number of characters written."""
        return await _in_thread(self._sync().write_text, data, encoding, errors, newline)

    if sys.version_info < (3, 12):

        async def link_to(self, target: str | os.PathLike[str]) -> None:
            """Make ``target`` a hard link to this path (deprecated: use :meth:`hardlink_to`)."""
            await _in_thread(self._sync().link_to, target)


def _listed(list_paths: Callable[..., Iterator[pathlib.Path]], *args: Any) -> list[pathlib.Path]:
    """In the worker thread: run a directory listing to the end."""
    return list(list_paths(*args))


class PosixPath(Path, pathlib.PurePosixPath):
    """A :class:`Path` with POSIX semantics (what ``Path(...)`` makes on Linux and macOS)."""

    __slots__ = ()
    _sync_type = pathlib.PosixPath


class WindowsPath(Path, pathlib.PureWindowsPath):
    """A :class:`Path` with Windows semantics; its I/O methods work only on Windows."""

    __slots__ = ()
    _sync_type = pathlib.WindowsPath
