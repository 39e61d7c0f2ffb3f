"""SocketStream (src/triolet/_net/_socket_stream.py)."""

from __future__ import annotations

import socket as stdlib_socket
import struct

import pytest
from _step_counter import start_step_counter

import triolet
import triolet.socket as tsocket
from triolet.testing import assert_checkpoints, check_half_closeable_stream, wait_all_tasks_blocked

from ._helpers import message_check
from ._pairs import (
    clogged_tcp_stream_pair,
    delegating_stream_pair,
    tcp_stream_pair,
    unix_stream_pair,
)


async def test_tcp_socket_stream_passes_the_half_closeable_stream_checks() -> None:
    await check_half_closeable_stream(tcp_stream_pair, clogged_tcp_stream_pair)


async def test_unix_socket_stream_passes_the_half_closeable_stream_checks() -> None:
    await check_half_closeable_stream(unix_stream_pair, None)


async def test_stream_over_a_foreign_socket_type_passes_the_checks() -> None:
    await check_half_closeable_stream(delegating_stream_pair, None)


async def test_tcp_nodelay_is_on_by_default() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        for stream in (client, server):
            assert stream.getsockopt(tsocket.IPPROTO_TCP, tsocket.TCP_NODELAY)


async def test_socket_options_pass_through() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        client.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_KEEPALIVE, 1)
        assert client.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_KEEPALIVE)
        raw = client.getsockopt(tsocket.SOL_SOCKET, tsocket.SO_KEEPALIVE, 4)
        assert isinstance(raw, bytes) and struct.unpack("i", raw)[0] != 0


async def test_constructor_wants_a_triolet_stream_socket() -> None:
    with stdlib_socket.socket() as raw, pytest.raises(TypeError):
        triolet.SocketStream(raw)  # type: ignore[arg-type]
    with tsocket.socket(type=tsocket.SOCK_DGRAM) as udp, pytest.raises(ValueError):
        triolet.SocketStream(udp)


async def test_receive_some_rejects_max_bytes_below_one() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        with pytest.raises(ValueError, match="max_bytes"):
            await client.receive_some(0)


async def test_receive_some_respects_max_bytes() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await client.send_all(b"abcdef")
        await triolet.testing.wait_all_tasks_blocked()
        received = b""
        while len(received) < 6:
            chunk = await server.receive_some(4)
            assert 1 <= len(chunk) <= 4
            received += chunk
        assert received == b"abcdef"


async def test_operations_are_checkpoints() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        with assert_checkpoints():
            await client.send_all(b"x")
        with assert_checkpoints():
            await server.receive_some()
        with assert_checkpoints():
            await client.send_all(b"")
        with assert_checkpoints():
            await client.wait_send_all_might_not_block()
        with assert_checkpoints():
            await client.send_eof()


async def test_receive_some_after_a_drained_read_is_still_a_checkpoint() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        await client.send_all(b"one")
        assert await server.receive_some() == b"one"  # drains the buffer
        await client.send_all(b"two")
        with assert_checkpoints():
            assert await server.receive_some() == b"two"


async def test_cancelled_receive_after_a_drained_read_keeps_the_data() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        await client.send_all(b"one")
        assert await server.receive_some() == b"one"
        await client.send_all(b"two")
        with triolet.CancelScope() as scope:
            scope.cancel()
            await server.receive_some()
        assert scope.cancelled_caught
        assert await server.receive_some() == b"two"


async def test_send_all_of_every_buffer_type() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        import array

        numbers = array.array("i", [1, 2, 3])
        for data in (b"bytes", bytearray(b"bytearray"), memoryview(b"view"), numbers):
            await client.send_all(data)  # type: ignore[arg-type]
            expected = bytes(memoryview(data).cast("B"))
            received = b""
            while len(received) < len(expected):
                received += await server.receive_some()
            assert received == expected


async def test_send_after_send_eof_is_closed_resource_error() -> None:
    client, server = await unix_stream_pair()
    async with client, server:
        await client.send_eof()
        await client.send_eof()  # idempotent
        with pytest.raises(triolet.ClosedResourceError, match=message_check("EOF")):
            await client.send_all(b"x")
        assert await server.receive_some() == b""


async def test_operations_after_aclose_are_closed_resource_error() -> None:
    client, server = await unix_stream_pair()
    await client.aclose()
    await client.aclose()  # idempotent
    with pytest.raises(triolet.ClosedResourceError):
        await client.send_all(b"x")
    with pytest.raises(triolet.ClosedResourceError):
        await client.send_all(b"")
    with pytest.raises(triolet.ClosedResourceError):
        await client.receive_some()
    with pytest.raises(triolet.ClosedResourceError):
        await client.wait_send_all_might_not_block()
    await server.aclose()


async def test_receive_after_aclose_following_a_drained_read() -> None:
    client, server = await unix_stream_pair()
    async with server:
        await server.send_all(b"x")
        assert await client.receive_some() == b"x"
        await client.aclose()
        with pytest.raises(triolet.ClosedResourceError):
            await client.receive_some()


async def test_peer_reset_is_broken_resource_error() -> None:
    client, server = await tcp_stream_pair()
    async with client:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        server.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_LINGER, struct.pack("ii", 1, 0))
        await server.aclose()
        with pytest.raises(triolet.BrokenResourceError) as info:
            await client.receive_some()
        assert isinstance(info.value.__cause__, ConnectionResetError)
        with pytest.raises(triolet.BrokenResourceError):
            for _ in range(100):
                await client.send_all(b"x" * 65536)


async def test_reset_while_blocked_in_receive_is_broken_resource_error() -> None:
    client, server = await tcp_stream_pair()
    async with client:
        async with triolet.open_nursery() as nursery:

            async def receiver() -> None:
                with pytest.raises(triolet.BrokenResourceError):
                    await client.receive_some()

            nursery.start_soon(receiver)
            await wait_all_tasks_blocked()
            server.setsockopt(tsocket.SOL_SOCKET, tsocket.SO_LINGER, struct.pack("ii", 1, 0))
            await server.aclose()


async def test_concurrent_receivers_are_busy() -> None:
    client, server = await unix_stream_pair()
    async with client, server, triolet.open_nursery() as nursery:
        nursery.start_soon(server.receive_some)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError, match=message_check("receiving")):
            await server.receive_some()
        nursery.cancel_scope.cancel()


async def test_large_transfer_arrives_intact() -> None:
    client, server = await tcp_stream_pair()
    payload = bytes(range(256)) * 40_000  # ~10 MB
    received = bytearray()

    async def receive_all() -> None:
        while chunk := await server.receive_some():
            received.extend(chunk)

    async with client, server, triolet.open_nursery() as nursery:
        nursery.start_soon(receive_all)
        await client.send_all(payload)
        await client.send_eof()
    assert received == payload


async def test_bytearray_can_be_resized_after_a_partial_send() -> None:
    client, server = await unix_stream_pair()
    data = bytearray(4_000_000)  # larger than the socket buffers: send_all waits

    async def drain() -> None:
        received = 0
        while received < len(data):
            received += len(await server.receive_some())

    async with client, server, triolet.open_nursery() as nursery:
        nursery.start_soon(drain)
        await client.send_all(data)
    data.extend(b"more")  # BufferError if send_all left a view of it alive


async def test_a_reply_skips_its_schedule_point_and_a_send_after_a_send_yields() -> None:
    # The scheduling policy (see the porting guide): a send_all that answers data
    # received since the last send need not yield; consecutive sends (a stream of data)
    # still do, so that the consumer keeps up.
    client, server = await tcp_stream_pair()
    async with client, server, triolet.open_nursery() as nursery:
        steps = await start_step_counter(nursery)
        await client.send_all(b"request")
        assert await server.receive_some() == b"request"
        before = steps[0]
        await server.send_all(b"reply")
        assert steps[0] == before
        await server.send_all(b"more")
        assert steps[0] == before + 1
        assert await client.receive_some() == b"replymore"
        nursery.cancel_scope.cancel()


async def test_a_reply_is_still_a_cancel_point() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await client.send_all(b"request")
        assert await server.receive_some() == b"request"
        with triolet.CancelScope() as scope:
            scope.cancel()
            await server.send_all(b"never sent")
        assert scope.cancelled_caught
        await server.send_all(b"sent")
        assert await client.receive_some() == b"sent"


async def test_assert_checkpoints_sees_the_schedule_point_of_a_reply() -> None:
    client, server = await tcp_stream_pair()
    async with client, server:
        await client.send_all(b"request")
        assert await server.receive_some() == b"request"
        with assert_checkpoints():
            await server.send_all(b"reply")
        assert await client.receive_some() == b"reply"
