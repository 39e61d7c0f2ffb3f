"""serve_listeners: accept connections forever and run a handler task for each.

A server must outlive its worst moments. When accept() fails because the process or
the system ran out of descriptors or memory, the connection is still queued in the
kernel: we log the error, wait a little for handlers to finish and free descriptors,
and try again. Every other error propagates.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from .. import _core
from .._abc import AsyncResource, Listener
from .._streams import aclose_forcefully

StreamT = TypeVar("StreamT", bound=AsyncResource)
ListenerT = TypeVar("ListenerT", bound=Listener[Any])

# How long to back off after an accept() that failed for lack of resources.
ACCEPT_RETRY_DELAY = 0.100

_CAPACITY_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("EMFILE", "ENFILE", "ENOMEM", "ENOBUFS")
    if hasattr(errno, name)
)

LOGGER = logging.getLogger("triolet.serve_listeners")


async def _run_handler(stream: StreamT, handler: Callable[[StreamT], Awaitable[object]]) -> None:
    try:
        await handler(stream)
    finally:
        await aclose_forcefully(stream)


async def _serve_one_listener(
    listener: Listener[StreamT],
    handler_nursery: _core.Nursery,
    handler: Callable[[StreamT], Awaitable[object]],
) -> NoReturn:
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                code = exc.errno
                if code is None or code not in _CAPACITY_ERRNOS:
                    raise
                LOGGER.error(
                    "accept returned %s (%s); retrying in %s seconds",
                    errno.errorcode[code],
                    os.strerror(code),
                    ACCEPT_RETRY_DELAY,
                    exc_info=True,
                )
                await _core.sleep(ACCEPT_RETRY_DELAY)
            else:
                handler_nursery.start_soon(_run_handler, stream, handler, name=handler)


async def serve_listeners(
    handler: Callable[[StreamT], Awaitable[object]],
    listeners: list[ListenerT],
    *,
    handler_nursery: _core.Nursery | None = None,
    task_status: _core.TaskStatus[list[ListenerT]] = _core.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Accept connections on every listener forever; run ``handler(stream)`` for each.

    Each handler runs in its own task in ``handler_nursery`` (default: a nursery inside
    this call) and its stream is closed when it returns or raises. An error from a
    handler propagates like any task error. The listeners are closed when this returns.
    With ``nursery.start``, ``task_status.started(listeners)`` reports them as serving
    begins (handy to learn the ports when you asked for port 0).

    Running out of descriptors or memory on accept (EMFILE, ENFILE, ENOMEM, ENOBUFS) is
    logged to the ``triolet.serve_listeners`` logger and retried after a short pause.
    Never returns normally; cancel it to stop serving. ValueError if ``listeners`` is
    empty.
    """
    if not listeners:
        raise ValueError("serve_listeners needs at least one listener to serve")
    # The listeners already queue incoming connections, so reporting "started" before
    # the accept loops run loses nothing.
    task_status.started(listeners)
    async with _core.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_serve_one_listener, listener, handler_nursery or nursery, handler)
    raise AssertionError("unreachable: accept loops only end by raising")
