"""StapledStream: a send stream and a receive stream presented as one two-way stream."""

from __future__ import annotations

from typing import Generic, TypeVar

from .._abc import HalfCloseableStream, ReceiveStream, SendStream

SendStreamT = TypeVar("SendStreamT", bound=SendStream)
ReceiveStreamT = TypeVar("ReceiveStreamT", bound=ReceiveStream)


class StapledStream(HalfCloseableStream, Generic[SendStreamT, ReceiveStreamT]):
    """Join a :class:`~triolet.abc.SendStream` and a :class:`~triolet.abc.ReceiveStream`.

    Sending methods go to ``send_stream``, ``receive_some`` goes to ``receive_stream``;
    both are public attributes and may be replaced. Typical uses: a subprocess's stdin
    and stdout as one stream, or the two halves of a test pair.

    ``send_eof`` calls ``send_stream.send_eof()`` when the send stream has one, and
    otherwise closes the send stream (which is how a plain send stream signals EOF).
    ``aclose`` closes both streams, the receive stream even if closing the send stream
    failed.
    """

    __slots__ = ("receive_stream", "send_stream")

    def __init__(self, send_stream: SendStreamT, receive_stream: ReceiveStreamT) -> None:
        self.send_stream: SendStreamT = send_stream
        self.receive_stream: ReceiveStreamT = receive_stream

    def __repr__(self) -> str:
        return (
            f"StapledStream(send_stream={self.send_stream!r}, "
            f"receive_stream={self.receive_stream!r})"
        )

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` on ``send_stream``; same errors and checkpoints as its ``send_all``."""
        await self.send_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """Delegate to ``send_stream.wait_send_all_might_not_block()``."""
        await self.send_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        """Signal end-of-stream to the peer: ``send_stream.send_eof()`` or, lacking it, ``aclose()``."""
        send_eof = getattr(self.send_stream, "send_eof", None)
        if send_eof is not None:
            await send_eof()
        else:
            await self.send_stream.aclose()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Receive from ``receive_stream``; same errors and checkpoints as its ``receive_some``."""
        return await self.receive_stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        """Close ``send_stream``, then ``receive_stream`` (even if the first close raised)."""
        try:
            await self.send_stream.aclose()
        finally:
            await self.receive_stream.aclose()
