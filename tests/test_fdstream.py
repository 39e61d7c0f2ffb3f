"""lowlevel.FdStream over pipes.

Public API only; also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_fdstream.py``.
"""

from __future__ import annotations

import os
import sys

import pytest

import triolet
from triolet.lowlevel import FdStream
from triolet.testing import check_one_way_stream, wait_all_tasks_blocked

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs pollable pipes")


async def make_pipe_stream() -> tuple[FdStream, FdStream]:
    read_fd, write_fd = os.pipe()
    return FdStream(write_fd), FdStream(read_fd)


async def make_clogged_pipe_stream() -> tuple[FdStream, FdStream]:
    send, receive = await make_pipe_stream()
    # Fill the pipe's buffer so that the next send_all must wait for the reader.
    while True:
        try:
            os.write(send.fileno(), b"x" * 65536)
        except BlockingIOError:
            break
    return send, receive


async def test_pipe_streams_pass_the_one_way_stream_checks() -> None:
    await check_one_way_stream(make_pipe_stream, make_clogged_pipe_stream)


async def test_bytes_go_through_and_end_of_file_reads_empty() -> None:
    send, receive = await make_pipe_stream()
    await send.send_all(b"hello")
    assert await receive.receive_some(3) == b"hel"
    assert await receive.receive_some() == b"lo"
    await send.aclose()
    assert await receive.receive_some() == b""
    await receive.aclose()


async def test_receive_some_rejects_max_bytes_below_one() -> None:
    send, receive = await make_pipe_stream()
    with pytest.raises(ValueError):
        await receive.receive_some(0)
    await send.aclose()
    await receive.aclose()


async def test_concurrent_receives_raise_busy_resource_error() -> None:
    send, receive = await make_pipe_stream()
    async with triolet.open_nursery() as nursery:
        nursery.start_soon(receive.receive_some)
        await wait_all_tasks_blocked()
        with pytest.raises(triolet.BusyResourceError):
            await receive.receive_some()
        await send.send_all(b"x")
    await send.aclose()
    await receive.aclose()


async def test_close_wakes_a_blocked_receiver_with_closed_resource_error() -> None:
    send, receive = await make_pipe_stream()
    async with triolet.open_nursery() as nursery:

        async def blocked_receiver() -> None:
            with pytest.raises(triolet.ClosedResourceError):
                await receive.receive_some()

        nursery.start_soon(blocked_receiver)
        await wait_all_tasks_blocked()
        await receive.aclose()
    await send.aclose()


async def test_methods_after_close_raise_closed_resource_error() -> None:
    send, receive = await make_pipe_stream()
    await send.aclose()
    await receive.aclose()
    await send.aclose()  # idempotent
    with pytest.raises(triolet.ClosedResourceError):
        await send.send_all(b"x")
    with pytest.raises(triolet.ClosedResourceError):
        await send.wait_send_all_might_not_block()
    with pytest.raises(triolet.ClosedResourceError):
        await receive.receive_some()


async def test_writing_to_a_pipe_without_reader_raises_broken_resource_error() -> None:
    send, receive = await make_pipe_stream()
    await receive.aclose()
    with pytest.raises(triolet.BrokenResourceError):
        await send.send_all(b"nobody listens")
    await send.aclose()


async def test_close_restores_the_original_blocking_mode() -> None:
    read_fd, write_fd = os.pipe()
    # A dup shares the open file description, and with it the O_NONBLOCK flag.
    witness = os.dup(read_fd)
    try:
        stream = FdStream(read_fd)
        assert not os.get_blocking(witness)
        await stream.aclose()
        assert os.get_blocking(witness)
    finally:
        os.close(witness)
        os.close(write_fd)


async def test_fileno_is_the_wrapped_descriptor() -> None:
    read_fd, write_fd = os.pipe()
    stream = FdStream(read_fd)
    assert stream.fileno() == read_fd
    await stream.aclose()
    os.close(write_fd)
