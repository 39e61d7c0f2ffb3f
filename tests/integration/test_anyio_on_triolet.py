"""anyio's API, on its trio backend, running on triolet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# What anyio's trio backend needs just to be imported.
BACKEND_NEEDS = (
    "socket.SocketType",
    "to_thread.run_sync",
    "from_thread.run",
    "lowlevel.RunVar",
    "Event",
)

CHECK_NEEDS: dict[str, tuple[str, ...]] = {
    "task_groups": (),
    "cancel_scopes": (),
    "memory_object_streams": (),
    "threads": ("to_thread.current_default_thread_limiter", "CapacityLimiter"),
    "tcp_streams": ("socket.socket", "socket.from_stdlib_socket", "SocketStream", "SocketListener"),
}


@pytest.mark.parametrize("check", sorted(CHECK_NEEDS))
def test_anyio_check_passes_on_triolet(
    check: str, require_triolet: Callable[..., None], run_program: Callable[..., str]
) -> None:
    require_triolet(*BACKEND_NEEDS, *CHECK_NEEDS[check])
    assert run_program("anyio_checks.py", check).split() == ["ok", check, "on", "triolet"]
