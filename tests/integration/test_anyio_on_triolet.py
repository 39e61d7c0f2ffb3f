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
}

# Bugs in other triolet modules, reported to their owners with a reproducer:
# (text identifying the failure in the program's stderr, explanation).
KNOWN_BUGS: dict[str, tuple[str, str]] = {
    "memory_object_streams": (
        "object has no attribute 'effectively_cancelled'",
        "kernel: anyio reads Task._cancel_status.effectively_cancelled (an attribute of "
        "trio's CancelStatus); triolet's Task._cancel_status is a CancelScope without it",
    ),
    "threads": (
        "in acquire_on_behalf_of_nowait",
        "to_thread.run_sync calls limiter.acquire_on_behalf_of_nowait(); trio only requires "
        "acquire_on_behalf_of/release_on_behalf_of, and anyio's limiter raises "
        "anyio.WouldBlock from its nowait method",
    ),
}


@pytest.mark.parametrize("check", sorted(CHECK_NEEDS))
def test_anyio_check_passes_on_triolet(
    check: str, require_triolet: Callable[..., None], run_program: Callable[..., str]
) -> None:
    require_triolet(*BACKEND_NEEDS, *CHECK_NEEDS[check])
    output = run_program("anyio_checks.py", check, known_bug=KNOWN_BUGS.get(check))
    assert output.split() == ["ok", check, "on", "triolet"]
