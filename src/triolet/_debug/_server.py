"""The debug server behind ``python -m triolet ps PID`` / ``pstree PID``.

Opt-in only (``enable_debug_server()`` or ``TRIOLET_DEBUG_SERVER=1``): a daemon thread
listens on a Unix socket in a directory only the owner can enter
(``$XDG_RUNTIME_DIR/triolet`` or ``/tmp/triolet-<uid>``), named ``<pid>.sock``, mode
0600. Each connection gets one JSON document: the task trees of every run in the
process. It runs in its own thread, so it answers even when the event loop is stuck.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import socket
import tempfile
import threading
from typing import Any

from .._core._introspect import snapshot
from .._core._state import active_runners

_server_lock = threading.Lock()
_server_path: str | None = None


def socket_dir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "triolet")
    return os.path.join(tempfile.gettempdir(), f"triolet-{os.getuid()}")


def socket_path(pid: int) -> str:
    return os.path.join(socket_dir(), f"{pid}.sock")


def _collect() -> dict[str, Any]:
    runs = []
    for runner in list(active_runners):
        for _attempt in range(5):  # the loop may mutate its structures while we read them
            try:
                tree = snapshot(runner)
                break
            except (RuntimeError, AttributeError, KeyError):
                continue
        else:
            tree = None
        runs.append(dataclasses.asdict(tree) if tree is not None else None)
    return {"pid": os.getpid(), "runs": runs}


def _serve(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                conn.sendall(json.dumps(_collect()).encode())
            except OSError:
                continue


def enable_debug_server() -> str:
    """Let ``python -m triolet ps/pstree <this pid>`` inspect this process; returns the socket path.

    Only processes of the same user can connect. Idempotent.
    """
    global _server_path
    with _server_lock:
        if _server_path is not None:
            return _server_path
        directory = socket_dir()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        path = socket_path(os.getpid())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(path)
        finally:
            os.umask(old_umask)
        listener.listen(4)
        threading.Thread(
            target=_serve, args=(listener,), name="triolet debug server", daemon=True
        ).start()
        atexit.register(_remove_socket, path)
        _server_path = path
        return path


def _remove_socket(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def fetch_task_tree(pid: int, timeout: float = 5.0) -> dict[str, Any]:
    """Ask process ``pid``'s debug server for its task trees (as parsed JSON).

    Raises FileNotFoundError (with an explanation) if that process did not opt in.
    """
    path = socket_path(pid)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"process {pid} has no triolet debug server (expected {path}); it must opt in "
            "with TRIOLET_DEBUG_SERVER=1 or triolet.lowlevel.enable_debug_server(). The "
            "process was not touched."
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(path)
        chunks = []
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    result: dict[str, Any] = json.loads(b"".join(chunks))
    return result
