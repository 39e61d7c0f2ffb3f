"""FdStream: a :class:`~triolet.abc.Stream` over a raw file descriptor (pipes, ttys, FIFOs).

The stream owns its fd: it switches it to non-blocking mode, waits for readiness with
``wait_readable`` / ``wait_writable`` when a read or write would block, and on close
puts the fd's original blocking mode back before closing it (other processes may share
the same open file description, e.g. an inherited terminal).
"""

from __future__ import annotations

import errno
import os
from typing import NoReturn

from ._abc import Stream
from ._core import (
    BrokenResourceError,
    ClosedResourceError,
    checkpoint,
    in_trio_run,
    notify_closing,
    wait_readable,
    wait_writable,
)
from ._streams import ConflictDetector

DEFAULT_RECEIVE_SIZE = 65536


def _closed_error() -> ClosedResourceError:
    return ClosedResourceError("this FdStream was already closed")


def _translate_os_error(exc: OSError) -> NoReturn:
    if exc.errno == errno.EBADF:
        raise _closed_error() from None
    raise BrokenResourceError(f"the file descriptor broke: {exc}") from exc


class FdStream(Stream):
    """Send and receive bytes through file descriptor ``fd``, which it takes ownership of.

    Works with anything the OS can poll: pipes, FIFOs, terminals, character devices (not
    regular files, which are always "ready"). Only one task at a time may send and one
    may receive (BusyResourceError otherwise). After :meth:`close`, every method raises
    ClosedResourceError; a task blocked in one when another closes the stream gets the
    same. A broken pipe raises BrokenResourceError.
    """

    def __init__(self, fd: int) -> None:
        self._fd = -1
        fd = int(fd)
        self._original_blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        self._fd = fd
        self._send_guard = ConflictDetector("another task is already sending on this FdStream")
        self._receive_guard = ConflictDetector(
            "another task is already receiving from this FdStream"
        )

    def __repr__(self) -> str:
        state = f"fd={self._fd}" if self._fd >= 0 else "closed"
        return f"<triolet.lowlevel.FdStream {state}>"

    def fileno(self) -> int:
        """The underlying file descriptor (-1 once closed)."""
        return self._fd

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data``, waiting whenever the fd is full. A checkpoint."""
        with self._send_guard:
            if self._fd < 0:
                raise _closed_error()
            await checkpoint()
            with memoryview(data) as view:
                total = view.nbytes
                sent = 0
                while sent < total:
                    fd = self._fd
                    if fd < 0:
                        raise _closed_error()
                    try:
                        sent += os.write(fd, view[sent:])
                    except BlockingIOError:
                        await wait_writable(fd)
                    except OSError as exc:
                        _translate_os_error(exc)

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the fd can take at least some data. A checkpoint."""
        with self._send_guard:
            if self._fd < 0:
                raise _closed_error()
            await wait_writable(self._fd)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Read and return up to ``max_bytes`` bytes (default 64 KiB); ``b""`` at end of file.

        Waits until some data is available. A checkpoint. ValueError if ``max_bytes`` < 1.
        """
        with self._receive_guard:
            if max_bytes is None:
                max_bytes = DEFAULT_RECEIVE_SIZE
            elif max_bytes < 1:
                raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
            if self._fd < 0:
                raise _closed_error()
            await checkpoint()
            while True:
                fd = self._fd
                if fd < 0:
                    raise _closed_error()
                try:
                    return os.read(fd, max_bytes)
                except BlockingIOError:
                    await wait_readable(fd)
                except OSError as exc:
                    _translate_os_error(exc)

    def close(self) -> None:
        """Close the fd now, waking any task blocked on it with ClosedResourceError.

        Idempotent; not a checkpoint.
        """
        fd = self._fd
        if fd < 0:
            return
        self._fd = -1
        if in_trio_run():
            notify_closing(fd)
        self._close_fd(fd)

    def _close_fd(self, fd: int) -> None:
        try:
            os.set_blocking(fd, self._original_blocking)
        except OSError:
            pass  # already broken; closing it is all that is left
        os.close(fd)

    async def aclose(self) -> None:
        """Close the stream (see :meth:`close`); a checkpoint."""
        self.close()
        await checkpoint()

    def __del__(self) -> None:
        # An abandoned stream must not leak its fd; no run may be around to notify.
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            self._close_fd(fd)
