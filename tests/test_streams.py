"""StapledStream and aclose_forcefully (src/triolet/_streams/)."""

from __future__ import annotations

import pytest

import triolet
from triolet.abc import AsyncResource, HalfCloseableStream, ReceiveStream, SendStream
from triolet.testing import (
    MemoryReceiveStream,
    MemorySendStream,
    assert_checkpoints,
    check_half_closeable_stream,
    memory_stream_pair,
)


class RecordingSendStream(SendStream):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.log.append(f"send_all {bytes(data)!r}")

    async def wait_send_all_might_not_block(self) -> None:
        self.log.append("wait_send_all_might_not_block")

    async def aclose(self) -> None:
        self.log.append("send aclose")


class RecordingHalfCloseableSendStream(RecordingSendStream):
    async def send_eof(self) -> None:
        self.log.append("send_eof")


class RecordingReceiveStream(ReceiveStream):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        self.log.append(f"receive_some {max_bytes}")
        return b"received"

    async def aclose(self) -> None:
        self.log.append("receive aclose")


async def test_stapled_stream_sends_on_send_stream_and_receives_on_receive_stream() -> None:
    log: list[str] = []
    stapled = triolet.StapledStream(RecordingSendStream(log), RecordingReceiveStream(log))
    await stapled.send_all(b"hello")
    await stapled.wait_send_all_might_not_block()
    assert await stapled.receive_some(7) == b"received"
    assert await stapled.receive_some() == b"received"
    assert log == [
        "send_all b'hello'",
        "wait_send_all_might_not_block",
        "receive_some 7",
        "receive_some None",
    ]


async def test_stapled_stream_is_a_half_closeable_stream_with_public_fields() -> None:
    log: list[str] = []
    send_stream = RecordingSendStream(log)
    receive_stream = RecordingReceiveStream(log)
    stapled = triolet.StapledStream(send_stream, receive_stream)
    assert isinstance(stapled, HalfCloseableStream)
    assert stapled.send_stream is send_stream
    assert stapled.receive_stream is receive_stream


async def test_stapled_stream_fields_can_be_replaced() -> None:
    old_log: list[str] = []
    new_log: list[str] = []
    stapled = triolet.StapledStream(RecordingSendStream(old_log), RecordingReceiveStream(old_log))
    stapled.send_stream = RecordingSendStream(new_log)
    stapled.receive_stream = RecordingReceiveStream(new_log)
    await stapled.send_all(b"x")
    await stapled.receive_some()
    assert old_log == []
    assert new_log == ["send_all b'x'", "receive_some None"]


async def test_stapled_send_eof_uses_the_send_streams_send_eof() -> None:
    log: list[str] = []
    stapled = triolet.StapledStream(
        RecordingHalfCloseableSendStream(log), RecordingReceiveStream(log)
    )
    await stapled.send_eof()
    assert log == ["send_eof"]


async def test_stapled_send_eof_closes_a_send_stream_without_send_eof() -> None:
    log: list[str] = []
    stapled = triolet.StapledStream(RecordingSendStream(log), RecordingReceiveStream(log))
    await stapled.send_eof()
    assert log == ["send aclose"]


async def test_stapled_aclose_closes_send_then_receive_stream() -> None:
    log: list[str] = []
    stapled = triolet.StapledStream(RecordingSendStream(log), RecordingReceiveStream(log))
    await stapled.aclose()
    assert log == ["send aclose", "receive aclose"]


async def test_stapled_aclose_closes_receive_stream_even_if_send_close_fails() -> None:
    def explode() -> None:
        raise RuntimeError("send side failed to close")

    send_stream = MemorySendStream(close_hook=explode)
    receive_stream = MemoryReceiveStream()
    stapled = triolet.StapledStream(send_stream, receive_stream)
    with pytest.raises(RuntimeError, match="send side failed to close"):
        await stapled.aclose()
    with pytest.raises(triolet.ClosedResourceError):
        await receive_stream.receive_some()


async def test_stapled_stream_works_as_an_async_context_manager() -> None:
    log: list[str] = []
    async with triolet.StapledStream(RecordingSendStream(log), RecordingReceiveStream(log)):
        pass
    assert log == ["send aclose", "receive aclose"]


async def test_stapled_memory_streams_pass_the_half_closeable_checks() -> None:
    async def make_pair() -> tuple[HalfCloseableStream, HalfCloseableStream]:
        return memory_stream_pair()

    await check_half_closeable_stream(make_pair, None)


class SlowToCloseResource(AsyncResource):
    """Closing politely takes forever; the resource counts as closed either way."""

    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True
        await triolet.sleep_forever()


async def test_aclose_forcefully_does_not_wait_for_a_graceful_close() -> None:
    resource = SlowToCloseResource()
    await triolet.aclose_forcefully(resource)
    assert resource.closed


async def test_aclose_forcefully_cancels_only_the_close_not_the_caller() -> None:
    resource = SlowToCloseResource()
    with triolet.CancelScope() as scope:
        await triolet.aclose_forcefully(resource)
        await triolet.lowlevel.checkpoint()
    assert not scope.cancelled_caught


async def test_aclose_forcefully_lets_other_errors_through() -> None:
    class BrokenClose(AsyncResource):
        async def aclose(self) -> None:
            raise OSError("close failed")

    with pytest.raises(OSError, match="close failed"):
        await triolet.aclose_forcefully(BrokenClose())


async def test_aclose_forcefully_of_a_memory_stream_closes_it_and_checkpoints() -> None:
    stream = MemorySendStream()
    with assert_checkpoints():
        await triolet.aclose_forcefully(stream)
    with pytest.raises(triolet.ClosedResourceError):
        await stream.send_all(b"x")
