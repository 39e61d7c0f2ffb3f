"""Child processes: ``lowlevel.open_process``, :class:`Process` and ``run_process``.

Spawning runs :class:`subprocess.Popen` in a worker thread (fork/exec can take a
millisecond or more, too long to stall the loop). Pipes are created here, not by
Popen, so that our ends become :class:`FdStream` objects directly.

Waiting for exit: on Linux each Process opens a pidfd, which becomes readable when the
child exits, so ``wait`` is one ``wait_readable`` and no thread. Elsewhere (or where
pidfd_open is refused) a worker thread blocks in ``waitid(..., WNOWAIT)``, which
notices the exit without reaping it. The reaping itself always happens in the loop's
thread through Popen, so Popen's bookkeeping (and its guard against signalling a
reused pid) stays in charge. Concurrent ``wait`` calls queue on a lock: one task
waits for the exit, the others find the result when their turn comes.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

from ._core import (
    TASK_STATUS_IGNORED,
    BrokenResourceError,
    CancelScope,
    Nursery,
    TaskStatus,
    in_trio_run,
    notify_closing,
    open_nursery,
    wait_readable,
)
from ._fdstream import FdStream
from ._streams import StapledStream
from ._sync import CapacityLimiter, Lock
from ._threads import to_thread_run_sync
from ._timeouts import move_on_after

if TYPE_CHECKING:
    import signal

    from ._abc import ReceiveStream, SendStream

StrOrBytesPath: TypeAlias = "str | bytes | os.PathLike[str] | os.PathLike[bytes]"


class HasFileno(Protocol):
    def fileno(self) -> int: ...


# Popen options that would put a text or buffering layer between us and the pipes.
_UNSUPPORTED_OPTIONS = ("universal_newlines", "text", "encoding", "errors", "bufsize")

# How long the default deliver_cancel waits after SIGTERM before it sends SIGKILL.
SIGTERM_GRACE_PERIOD = 5.0


def _open_pidfd(pid: int) -> int | None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:
        return None  # a pre-5.3 kernel or a sandbox that forbids it: use a thread instead
    return fd


def _block_until_exited(popen: subprocess.Popen[bytes]) -> None:
    """In a worker thread: return once the child has exited, reaping it only if we must."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        popen.wait()
        return
    try:
        waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:
        pass  # reaped meanwhile (by a poll() in the loop thread)


# ---------------------------------------------------------------------- Process
class Process:
    """A child process started by :func:`open_process` (or ``run_process`` via ``nursery.start``).

    ``args`` and ``pid`` are as given to / assigned by the OS. ``stdin`` is a
    :class:`~triolet.abc.SendStream` and ``stdout`` / ``stderr`` are
    :class:`~triolet.abc.ReceiveStream` objects for the pipes that were requested with
    ``subprocess.PIPE`` (None otherwise); ``stdio`` staples ``stdin`` and ``stdout``
    into one two-way stream when both are pipes.
    """

    # Always bytes, never text: these mirror Popen's attributes of the same names.
    universal_newlines = False
    encoding = None
    errors = None

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: SendStream | None,
        stdout: ReceiveStream | None,
        stderr: ReceiveStream | None,
    ) -> None:
        # What the OS told us about the child, copied from Popen.
        self.args: StrOrBytesPath | Sequence[StrOrBytesPath] = popen.args
        self.pid: int = popen.pid
        # Our ends of its pipes, plus the two-way view when both directions exist.
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.stdio: StapledStream[SendStream, ReceiveStream] | None = (
            None if stdin is None or stdout is None else StapledStream(stdin, stdout)
        )
        # How we learn it exited: a pidfd when the kernel offers one, else a thread.
        self._pidfd = _open_pidfd(popen.pid)
        self._wait_lock = Lock()
        self._proc = popen

    def __repr__(self) -> str:
        returncode = self.returncode
        if returncode is None:
            state = f"running with PID {self.pid}"
        elif returncode < 0:
            state = f"exited with signal {-returncode}"
        else:
            state = f"exited with status {returncode}"
        return f"<triolet.Process {self.args!r}: {state}>"

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal number), or None while running.

        Reading it checks on the child without blocking, like :meth:`poll`.
        """
        return self.poll()

    def poll(self) -> int | None:
        """Return the exit status if the child has exited (reaping it), else None. Never blocks."""
        returncode = self._proc.poll()
        if returncode is not None and not self._wait_lock.locked():
            self._close_pidfd()
        return returncode

    async def wait(self) -> int:
        """Wait for the child to exit and return its exit status. A checkpoint.

        Cancelling the wait leaves the child running. Several tasks may wait at once.
        """
        async with self._wait_lock:
            if self._proc.poll() is None:
                if self._pidfd is not None:
                    await wait_readable(self._pidfd)
                else:
                    await to_thread_run_sync(
                        _block_until_exited,
                        self._proc,
                        abandon_on_cancel=True,
                        limiter=CapacityLimiter(1),
                    )
                self._proc.wait()  # exited: this reaps it without blocking
            self._close_pidfd()
        returncode = self._proc.returncode
        assert returncode is not None
        return returncode

    def _close_pidfd(self) -> None:
        pidfd = self._pidfd
        if pidfd is not None:
            self._pidfd = None
            if in_trio_run():
                notify_closing(pidfd)
            os.close(pidfd)

    def send_signal(self, sig: signal.Signals | int) -> None:
        """Send signal ``sig`` to the child; does nothing once it has been reaped."""
        self._proc.send_signal(sig)

    def terminate(self) -> None:
        """Ask the child to exit (SIGTERM); does nothing once it has been reaped."""
        self._proc.terminate()

    def kill(self) -> None:
        """Kill the child at once (SIGKILL); does nothing once it has been reaped."""
        self._proc.kill()

    async def aclose(self) -> None:
        """Close our end of stdin, wait for the child to exit, then close stdout/stderr.

        If cancelled while waiting, the child is killed and reaped before Cancelled
        propagates, so no zombie is left behind.
        """
        try:
            if self.stdin is not None:
                await self.stdin.aclose()
            await self.wait()
        finally:
            if self._proc.poll() is None:
                self.kill()
                with CancelScope(shield=True):
                    await self.wait()
            for stream in (self.stdout, self.stderr):
                if stream is not None:
                    with CancelScope(shield=True):
                        await stream.aclose()

    def __del__(self) -> None:
        pidfd = getattr(self, "_pidfd", None)
        if pidfd is not None:
            os.close(pidfd)


# ---------------------------------------------------------------------- open_process
def _check_command(command: object, shell: bool) -> None:
    is_string = isinstance(command, (str, bytes))
    if shell and not is_string:
        raise TypeError(
            f"with shell=True the command must be one string, not {type(command).__name__}; "
            "join the arguments yourself (quote them with shlex.join)"
        )
    if not shell and is_string:
        raise TypeError(
            "the command must be a sequence of arguments, such as ['ls', '-l'], unless "
            "shell=True is given; got the single string "
            f"{command!r}"
        )


async def open_process(
    command: StrOrBytesPath | Sequence[StrOrBytesPath],
    *,
    stdin: int | HasFileno | None = None,
    stdout: int | HasFileno | None = None,
    stderr: int | HasFileno | None = None,
    **options: Any,
) -> Process:
    """Start ``command`` as a child process and return its :class:`Process` at once.

    ``stdin``, ``stdout`` and ``stderr`` are as for :class:`subprocess.Popen`: None
    (inherit ours), a file descriptor or file object, ``subprocess.DEVNULL``,
    ``subprocess.STDOUT`` (for stderr) or ``subprocess.PIPE``, which gives a stream on
    the Process. Other keyword arguments go to Popen, except those that would add text
    decoding or buffering (TypeError). The command is a sequence of arguments, or one
    string when ``shell=True`` (TypeError otherwise). Nothing waits for the child: use
    :meth:`Process.wait`, ``aclose`` or :func:`run_process`. A checkpoint. Errors from
    spawning (FileNotFoundError, PermissionError, ...) propagate.
    """
    for name in _UNSUPPORTED_OPTIONS:
        if options.get(name):
            raise TypeError(
                f"triolet processes talk over unbuffered byte streams; the {name!r} option "
                "is not supported (decode the bytes you receive yourself)"
            )
    _check_command(command, bool(options.get("shell")))

    ours: list[int] = []  # our ends of the pipes: become streams, or are closed on failure
    theirs: list[int] = []  # the child's ends: always closed here once it has them
    try:
        child_stdin, stdin_fd = _make_pipe(stdin, child_reads=True, ours=ours, theirs=theirs)
        child_stdout, stdout_fd = _make_pipe(stdout, child_reads=False, ours=ours, theirs=theirs)
        child_stderr, stderr_fd = _make_pipe(stderr, child_reads=False, ours=ours, theirs=theirs)
        spawn = partial(
            subprocess.Popen,
            command,
            stdin=child_stdin,
            stdout=child_stdout,
            stderr=child_stderr,
            **options,
        )
        # Byte pipes only (the text options were refused above), whatever the overloads say.
        popen = cast("subprocess.Popen[bytes]", await to_thread_run_sync(spawn))
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return Process(
        popen,
        FdStream(stdin_fd) if stdin_fd is not None else None,
        FdStream(stdout_fd) if stdout_fd is not None else None,
        FdStream(stderr_fd) if stderr_fd is not None else None,
    )


def _make_pipe(
    spec: int | HasFileno | None, *, child_reads: bool, ours: list[int], theirs: list[int]
) -> tuple[int | HasFileno | None, int | None]:
    """For a PIPE spec: a new pipe, as (what to give Popen, our fd). Otherwise (spec, None)."""
    if spec != subprocess.PIPE:
        return spec, None
    read_fd, write_fd = os.pipe()
    child_fd, our_fd = (read_fd, write_fd) if child_reads else (write_fd, read_fd)
    theirs.append(child_fd)
    ours.append(our_fd)
    return child_fd, our_fd


# ---------------------------------------------------------------------- run_process
async def _terminate_then_kill(process: Process) -> None:
    """The default ``deliver_cancel``: SIGTERM, then SIGKILL if it is still alive 5 s later."""
    process.terminate()
    with move_on_after(SIGTERM_GRACE_PERIOD):
        await process.wait()
        return
    warnings.warn(
        RuntimeWarning(
            f"process {process!r} was still running {SIGTERM_GRACE_PERIOD} seconds after "
            "SIGTERM, so run_process sent SIGKILL; pass deliver_cancel= to stop it your own way"
        ),
        stacklevel=1,
    )
    process.kill()


async def _send_input(stream: SendStream, data: bytes | bytearray | memoryview) -> None:
    async with stream:
        try:
            await stream.send_all(data)
        except BrokenResourceError:
            pass  # the child exited (or closed stdin) without reading everything: its call


async def _collect_output(stream: ReceiveStream, chunks: list[bytes | bytearray]) -> None:
    async with stream:
        async for chunk in stream:
            chunks.append(chunk)


async def run_process(
    command: StrOrBytesPath | Sequence[StrOrBytesPath],
    *,
    stdin: bytes | bytearray | memoryview | int | HasFileno | None = b"",
    capture_stdout: bool = False,
    capture_stderr: bool = False,
    check: bool = True,
    deliver_cancel: Callable[[Process], Awaitable[object]] | None = None,
    task_status: TaskStatus[Process] = TASK_STATUS_IGNORED,
    **options: Any,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` to completion and return a :class:`subprocess.CompletedProcess`.

    ``stdin`` is bytes to feed the child (default ``b""``: it sees end-of-file at once)
    or anything :func:`open_process` accepts. With ``capture_stdout`` /
    ``capture_stderr`` the output is collected into the result's ``stdout`` /
    ``stderr``; otherwise it goes where ``stdout=`` / ``stderr=`` say (default: ours).
    With ``check`` (the default) a non-zero exit raises
    :class:`subprocess.CalledProcessError` carrying the captured output. Other keyword
    arguments go to :func:`open_process`.

    Started with ``await nursery.start(run_process, ...)`` it hands back the
    :class:`Process` once spawned; only then may ``stdin``/``stdout``/``stderr`` be
    ``subprocess.PIPE`` (ValueError otherwise), and the caller owns those streams.

    If cancelled, or if collecting output fails, ``deliver_cancel(process)`` is run
    (default: SIGTERM, then SIGKILL after 5 seconds) and the child is always waited
    for, so it never outlives the call or lingers as a zombie. UnicodeError if
    ``stdin`` is a str; ValueError for ``capture_stdout`` together with ``stdout=``.
    """
    if isinstance(stdin, str):
        raise UnicodeError("process stdin must be bytes, not str; encode it first")
    if task_status is TASK_STATUS_IGNORED:
        for name, spec in (
            ("stdin", stdin),
            ("stdout", options.get("stdout")),
            ("stderr", options.get("stderr")),
        ):
            if spec == subprocess.PIPE:
                raise ValueError(
                    f"{name}=subprocess.PIPE only makes sense with nursery.start(run_process, "
                    "...), which hands you the Process and its pipes; otherwise pass stdin as "
                    "bytes and use capture_stdout/capture_stderr"
                )
    for name, capture in (("stdout", capture_stdout), ("stderr", capture_stderr)):
        if capture:
            if name in options:
                raise ValueError(f"can't specify both {name}= and capture_{name}=True")
            options[name] = subprocess.PIPE
    input_data: bytes | bytearray | memoryview | None = None
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        input_data = stdin
        options["stdin"] = subprocess.PIPE
    else:
        options["stdin"] = stdin
    if deliver_cancel is None:
        deliver_cancel = _terminate_then_kill

    stdout_chunks: list[bytes | bytearray] = []
    stderr_chunks: list[bytes | bytearray] = []
    # Spawn outside the nursery, so that a spawn error propagates as itself, unwrapped.
    process = await open_process(command, **options)
    async with open_nursery() as nursery:
        try:
            if input_data is not None:
                stdin_stream, process.stdin, process.stdio = process.stdin, None, None
                assert stdin_stream is not None
                if input_data:
                    nursery.start_soon(_send_input, stdin_stream, input_data)
                else:
                    await stdin_stream.aclose()
            if capture_stdout:
                stdout_stream, process.stdout, process.stdio = process.stdout, None, None
                assert stdout_stream is not None
                nursery.start_soon(_collect_output, stdout_stream, stdout_chunks)
            if capture_stderr:
                stderr_stream, process.stderr = process.stderr, None
                assert stderr_stream is not None
                nursery.start_soon(_collect_output, stderr_stream, stderr_chunks)
            task_status.started(process)
            await process.wait()
        except BaseException:
            await _stop_and_reap(process, deliver_cancel, nursery)
            raise

    stdout = b"".join(stdout_chunks) if capture_stdout else None
    stderr = b"".join(stderr_chunks) if capture_stderr else None
    returncode = process.returncode
    assert returncode is not None
    if check and returncode:
        raise subprocess.CalledProcessError(returncode, process.args, stdout, stderr)
    return subprocess.CompletedProcess(process.args, returncode, stdout, stderr)


async def _stop_and_reap(
    process: Process,
    deliver_cancel: Callable[[Process], Awaitable[object]],
    nursery: Nursery,
) -> None:
    """Run ``deliver_cancel`` in the background until the child has exited and been reaped.

    Everything here is shielded: the run_process call is being torn down (usually
    cancelled) and must not return while the child lives. ``deliver_cancel`` runs in
    its own shielded scope, cancelled as soon as the child is gone, so that one which
    waits (like the default's grace period) doesn't delay us past the exit.
    """
    with CancelScope(shield=True):
        killer_scope = CancelScope(shield=True)

        async def deliver() -> None:
            with killer_scope:
                await deliver_cancel(process)

        nursery.start_soon(deliver)
        await process.wait()
        killer_scope.cancel()
