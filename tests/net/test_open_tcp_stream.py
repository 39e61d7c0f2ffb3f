"""open_tcp_stream (src/triolet/_net/_open_tcp_stream.py): the Happy Eyeballs driver.

Most tests script fake sockets through a custom resolver and socket factory and run on
an autojump MockClock, so connection timings are exact; a few use real loopback sockets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

import triolet
import triolet.socket as tsocket
from triolet.testing import MockClock

from ._helpers import message_check


@dataclass
class Script:
    """How connecting to each address behaves: ("ok"|"fail"|"hang", seconds)."""

    behaviour: dict[str, tuple[str, float]]
    attempts: list[tuple[str, float]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    bound: list[Any] = field(default_factory=list)


class FakeSocket(tsocket.SocketType):
    def __init__(self, script: Script, family: int) -> None:
        super().__init__()
        self.script = script
        self._family = family
        self.host: str | None = None
        self.is_closed = False

    @property
    def family(self) -> Any:
        return self._family

    @property
    def type(self) -> Any:
        return tsocket.SOCK_STREAM

    def setsockopt(self, *args: Any) -> None:
        pass

    async def bind(self, address: Any) -> None:
        if (self._family == tsocket.AF_INET) != ("." in address[0]):
            raise OSError("wrong family")
        self.script.bound.append(address)

    async def connect(self, address: Any) -> None:
        self.host = address[0]
        self.script.attempts.append((address[0], triolet.current_time()))
        outcome, seconds = self.script.behaviour[address[0]]
        if outcome == "hang":
            await triolet.sleep_forever()
        await triolet.sleep(seconds)
        if outcome == "fail":
            raise ConnectionRefusedError(111, f"fake refusal from {address[0]}")

    def close(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            self.script.closed.append(self.host or "?")


class FakeNetwork(triolet.abc.HostnameResolver, triolet.abc.SocketFactory):
    def __init__(self, script: Script, hosts: list[str]) -> None:
        self.script = script
        self.hosts = hosts

    async def getaddrinfo(self, host: Any, port: Any, *args: Any) -> Any:
        return [
            (
                tsocket.AF_INET6 if ":" in address else tsocket.AF_INET,
                tsocket.SOCK_STREAM,
                6,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in self.hosts
        ]

    async def getnameinfo(self, *args: Any) -> Any:
        raise NotImplementedError

    def socket(self, family: Any = None, type: Any = None, proto: Any = None) -> Any:
        return FakeSocket(self.script, family)


async def connect_scripted(
    hosts: list[str], behaviour: dict[str, tuple[str, float]], **kwargs: Any
) -> tuple[Script, triolet.SocketStream | BaseException, float]:
    script = Script(behaviour)
    network = FakeNetwork(script, hosts)
    tsocket.set_custom_hostname_resolver(network)
    tsocket.set_custom_socket_factory(network)
    start = triolet.current_time()
    try:
        result: triolet.SocketStream | BaseException = await triolet.open_tcp_stream(
            "test.example", 80, **kwargs
        )
    except OSError as exc:
        result = exc
    finally:
        tsocket.set_custom_hostname_resolver(None)
        tsocket.set_custom_socket_factory(None)
    return script, result, triolet.current_time() - start


def winner_host(result: triolet.SocketStream | BaseException) -> str:
    assert isinstance(result, triolet.SocketStream), result
    return result.socket.host  # type: ignore[attr-defined,no-any-return]


async def test_single_address_connects(autojump_clock: MockClock) -> None:
    script, result, elapsed = await connect_scripted(["1.1.1.1"], {"1.1.1.1": ("ok", 0.1)})
    assert winner_host(result) == "1.1.1.1"
    assert elapsed == pytest.approx(0.1)
    assert script.closed == []


async def test_slow_first_address_is_raced_after_the_delay(autojump_clock: MockClock) -> None:
    script, result, elapsed = await connect_scripted(
        ["1.1.1.1", "2.2.2.2"], {"1.1.1.1": ("hang", 0), "2.2.2.2": ("ok", 0.1)}
    )
    assert winner_host(result) == "2.2.2.2"
    assert script.attempts == [("1.1.1.1", 0.0), ("2.2.2.2", pytest.approx(0.25))]
    assert elapsed == pytest.approx(0.35)
    assert script.closed == ["1.1.1.1"]  # the losing attempt was cancelled and closed


async def test_failure_starts_the_next_attempt_at_once(autojump_clock: MockClock) -> None:
    script, result, elapsed = await connect_scripted(
        ["1.1.1.1", "2.2.2.2"], {"1.1.1.1": ("fail", 0.1), "2.2.2.2": ("ok", 0.1)}
    )
    assert winner_host(result) == "2.2.2.2"
    assert script.attempts == [("1.1.1.1", 0.0), ("2.2.2.2", pytest.approx(0.1))]
    assert elapsed == pytest.approx(0.2)


async def test_custom_delay(autojump_clock: MockClock) -> None:
    script, result, _ = await connect_scripted(
        ["1.1.1.1", "2.2.2.2"],
        {"1.1.1.1": ("hang", 0), "2.2.2.2": ("ok", 0.0)},
        happy_eyeballs_delay=1.5,
    )
    assert winner_host(result) == "2.2.2.2"
    assert script.attempts[1][1] == pytest.approx(1.5)


async def test_infinite_delay_tries_addresses_one_at_a_time(autojump_clock: MockClock) -> None:
    script, result, _ = await connect_scripted(
        ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
        {"1.1.1.1": ("fail", 10), "2.2.2.2": ("fail", 20), "3.3.3.3": ("ok", 1)},
        happy_eyeballs_delay=math.inf,
    )
    assert winner_host(result) == "3.3.3.3"
    assert [when for _, when in script.attempts] == [0, pytest.approx(10), pytest.approx(30)]


async def test_earlier_attempt_can_still_win(autojump_clock: MockClock) -> None:
    script, result, _ = await connect_scripted(
        ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
        {"1.1.1.1": ("ok", 0.3), "2.2.2.2": ("hang", 0), "3.3.3.3": ("hang", 0)},
    )
    assert winner_host(result) == "1.1.1.1"
    assert [host for host, _ in script.attempts] == ["1.1.1.1", "2.2.2.2"]
    assert script.closed == ["2.2.2.2"]


async def test_simultaneous_successes_keep_one_and_close_the_rest(
    autojump_clock: MockClock,
) -> None:
    script, result, _ = await connect_scripted(
        ["1.1.1.1", "2.2.2.2"], {"1.1.1.1": ("ok", 0.5), "2.2.2.2": ("ok", 0.25)}
    )
    assert winner_host(result) in ("1.1.1.1", "2.2.2.2")
    assert len(script.closed) == 1 and script.closed[0] != winner_host(result)


async def test_every_attempt_failing_raises_oserror_naming_host_and_port(
    autojump_clock: MockClock,
) -> None:
    script, result, elapsed = await connect_scripted(
        ["1.1.1.1", "2.2.2.2"], {"1.1.1.1": ("fail", 0.1), "2.2.2.2": ("fail", 0.1)}
    )
    assert type(result) is OSError
    assert "test.example:80" in str(result)
    group = result.__cause__
    assert isinstance(group, ExceptionGroup)
    assert [type(error) for error in group.exceptions] == [ConnectionRefusedError] * 2
    assert sorted(script.closed) == ["1.1.1.1", "2.2.2.2"]
    assert elapsed == pytest.approx(0.2)


async def test_address_families_are_interleaved(autojump_clock: MockClock) -> None:
    hosts = ["::1:1", "::1:2", "1.1.1.1", "2.2.2.2"]
    behaviour = {host: ("fail", 0.0) for host in hosts}
    script, _, _ = await connect_scripted(hosts, behaviour)
    assert [host for host, _ in script.attempts] == ["::1:1", "1.1.1.1", "::1:2", "2.2.2.2"]


async def test_local_address_is_bound_before_connecting(autojump_clock: MockClock) -> None:
    script, result, _ = await connect_scripted(
        ["1.1.1.1"], {"1.1.1.1": ("ok", 0)}, local_address="10.0.0.1"
    )
    assert winner_host(result) == "1.1.1.1"
    assert script.bound == [("10.0.0.1", 0)]


async def test_local_address_of_the_wrong_family_fails_that_attempt(
    autojump_clock: MockClock,
) -> None:
    script, result, _ = await connect_scripted(
        ["::1:1", "1.1.1.1"], {"::1:1": ("ok", 0), "1.1.1.1": ("ok", 0)}, local_address="10.0.0.1"
    )
    assert winner_host(result) == "1.1.1.1"
    assert script.attempts == [("1.1.1.1", 0.0)]


async def test_cancelling_closes_every_socket(autojump_clock: MockClock) -> None:
    script = Script({"1.1.1.1": ("hang", 0), "2.2.2.2": ("hang", 0)})
    network = FakeNetwork(script, ["1.1.1.1", "2.2.2.2"])
    tsocket.set_custom_hostname_resolver(network)
    tsocket.set_custom_socket_factory(network)
    try:
        with triolet.move_on_after(1.0) as scope:
            await triolet.open_tcp_stream("test.example", 80)
    finally:
        tsocket.set_custom_hostname_resolver(None)
        tsocket.set_custom_socket_factory(None)
    assert scope.cancelled_caught
    assert sorted(script.closed) == ["1.1.1.1", "2.2.2.2"]


@pytest.mark.parametrize(
    ("host", "port", "error"),
    [(None, 80, ValueError), (123, 80, ValueError), ("127.0.0.1", "80", TypeError)],
)
async def test_bad_arguments(host: Any, port: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        await triolet.open_tcp_stream(host, port)


async def test_connects_to_a_real_loopback_listener() -> None:
    listeners = await triolet.open_tcp_listeners(0, host="127.0.0.1")
    async with listeners[0] as listener:
        port = listener.socket.getsockname()[1]
        async with await triolet.open_tcp_stream("127.0.0.1", port) as client:
            async with await listener.accept() as server:
                await client.send_all(b"hi")
                assert await server.receive_some() == b"hi"


async def test_connects_by_hostname_and_ipv6_literal() -> None:
    for host, listen_host in (("localhost", "127.0.0.1"), ("::1", "::1")):
        listeners = await triolet.open_tcp_listeners(0, host=listen_host)
        async with listeners[0] as listener:
            port = listener.socket.getsockname()[1]
            async with await triolet.open_tcp_stream(host, port):
                (await listener.accept()).socket.close()


async def test_refused_connection_names_host_and_port() -> None:
    with tsocket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}") as info:
            await triolet.open_tcp_stream("127.0.0.1", port)
        assert isinstance(info.value.__cause__.exceptions[0], ConnectionRefusedError)  # type: ignore[union-attr]


async def test_refused_ipv6_connection_brackets_the_host() -> None:
    with tsocket.socket(tsocket.AF_INET6) as probe:
        await probe.bind(("::1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(OSError, match=rf"\[::1\]:{port}"):
            await triolet.open_tcp_stream("::1", port)


async def test_unknown_host_is_gaierror_naming_the_host() -> None:
    with pytest.raises(tsocket.gaierror, match=message_check("nonexistent.invalid")):
        await triolet.open_tcp_stream("nonexistent.invalid", 80)
