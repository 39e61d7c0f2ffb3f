"""open_tcp_stream: resolve a host and race connections to its addresses (Happy Eyeballs).

The scheduling decisions live in ``_happy_eyeballs.py`` (no I/O, tested exhaustively);
this module runs them: one task per connection attempt, and the calling task as the
referee that sleeps until the next attempt is due or something happened.
"""

from __future__ import annotations

import socket as _stdlib_socket
from typing import Any

from .. import _core
from ._happy_eyeballs import (
    Action,
    CloseSurplus,
    HappyEyeballs,
    Lost,
    StartAttempt,
    Won,
    reorder_for_rfc_6555,
)
from ._resolver import getaddrinfo
from ._socket import socket
from ._socket_stream import SocketStream
from ._socket_type import SocketType

DEFAULT_DELAY = 0.250


def format_host_port(host: str | bytes, port: int | str) -> str:
    """``host:port`` as people write it: ``[::1]:80`` for IPv6 literals."""
    host_text = host.decode("ascii", "backslashreplace") if isinstance(host, bytes) else host
    if ":" in host_text:
        return f"[{host_text}]:{port}"
    return f"{host_text}:{port}"


async def open_tcp_stream(
    host: str | bytes,
    port: int,
    *,
    happy_eyeballs_delay: float | None = DEFAULT_DELAY,
    local_address: str | None = None,
) -> SocketStream:
    """Connect to ``host``:``port`` over TCP and return a :class:`SocketStream`.

    Every address ``host`` resolves to is tried, RFC 8305 style: the next attempt starts
    when the previous one fails or after ``happy_eyeballs_delay`` seconds (default 0.25;
    ``math.inf`` tries one address at a time), and the first connection wins.
    ``local_address`` binds the outgoing socket to that local IP first.

    Raises ``socket.gaierror`` if ``host`` doesn't resolve, and ``OSError`` naming
    ``host:port`` if every attempt fails (its ``__cause__`` is an ExceptionGroup of the
    individual errors). ValueError / TypeError for a bad host, port or delay.
    """
    if not isinstance(host, str | bytes):
        raise ValueError(f"host must be str or bytes, not {host!r}")
    if not isinstance(port, int):
        raise TypeError(f"port must be int, not {port!r}")
    if happy_eyeballs_delay is None:
        happy_eyeballs_delay = DEFAULT_DELAY

    targets = await getaddrinfo(host, port, type=_stdlib_socket.SOCK_STREAM)
    if not targets:
        raise OSError(f"getaddrinfo({host!r}, {port!r}) returned no addresses")
    targets = reorder_for_rfc_6555(targets, lambda target: target[0])
    race = _Race(targets, happy_eyeballs_delay, local_address)
    return await race.run(format_host_port(host, port))


class _Race:
    __slots__ = ("errors", "local_address", "nursery", "plan", "referee", "targets", "winner")

    def __init__(self, targets: list[Any], delay: float, local_address: str | None) -> None:
        self.targets = targets
        self.plan = HappyEyeballs(len(targets), delay)
        self.local_address = local_address
        self.errors: list[OSError] = []
        self.winner: SocketType | None = None
        self.referee = _core.ParkingLot()
        self.nursery: _core.Nursery | None = None

    async def run(self, where: str) -> SocketStream:
        try:
            async with _core.open_nursery() as nursery:
                self.nursery = nursery
                self._apply(self.plan.start(_core.current_time()), None)
                while not self.plan.finished:
                    with _core.CancelScope(deadline=self.plan.next_start_at):
                        await self.referee.park()
                    self._apply(self.plan.timer_fired(_core.current_time()), None)
                if self.plan.winner is not None:
                    nursery.cancel_scope.cancel()
        except BaseException:
            if self.winner is not None:
                self.winner.close()
            raise
        if self.winner is None:
            message = f"all attempts to connect to {where} failed"
            raise OSError(message) from ExceptionGroup(message, self.errors)
        return SocketStream(self.winner)

    def _apply(self, actions: list[Action], sock: SocketType | None) -> None:
        for action in actions:
            if isinstance(action, StartAttempt):
                assert self.nursery is not None
                self.nursery.start_soon(self._attempt, action.index)
            elif isinstance(action, Won):
                self.winner = sock
                self.referee.unpark_all()
            elif isinstance(action, CloseSurplus):
                assert sock is not None
                sock.close()
            elif isinstance(action, Lost):
                self.referee.unpark_all()

    async def _attempt(self, index: int) -> None:
        family, type_, proto, _, sockaddr = self.targets[index]
        try:
            sock = socket(family, type_, proto)
        except OSError as exc:
            self._failed(index, exc)
            return
        try:
            if self.local_address is not None:
                await self._bind_local(sock, sockaddr)
            await sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            self._failed(index, exc)
        except BaseException:
            sock.close()
            raise
        else:
            self._apply(self.plan.attempt_succeeded(index), sock)

    async def _bind_local(self, sock: SocketType, sockaddr: Any) -> None:
        # Let the kernel pick the local port at connect() time, so that many
        # connections from one local address don't each pin a port at bind().
        bind_no_port = getattr(_stdlib_socket, "IP_BIND_ADDRESS_NO_PORT", None)
        if bind_no_port is not None:
            try:
                sock.setsockopt(_stdlib_socket.IPPROTO_IP, bind_no_port, 1)
            except OSError:
                pass
        try:
            await sock.bind((self.local_address, 0))
        except OSError:
            raise OSError(
                f"local_address={self.local_address!r} is incompatible with remote address "
                f"{sockaddr!r}"
            ) from None

    def _failed(self, index: int, error: OSError) -> None:
        self.errors.append(error)
        self._apply(self.plan.attempt_failed(index, _core.current_time()), None)
        self.referee.unpark_all()
