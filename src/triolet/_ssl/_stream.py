"""SSLStream: TLS over any triolet Stream, driving the sans-I/O engine in ``_tls_engine.py``.

How the I/O is organised (the engine itself never waits):

- Every public operation runs *steps* of the engine through :meth:`SSLStream._run_step`:
  call the step, send whatever ciphertext it produced, and if it answered NEED_DATA,
  receive more ciphertext from the transport and call it again.
- Two tasks may drive the engine at once (one sending, one receiving, both perhaps
  finishing the handshake). ``_send_lock`` (FIFO) keeps ciphertext in order on the
  transport: ciphertext is taken out of the engine only while holding it, so whoever
  takes the lock next sends everything produced before. ``_receive_lock`` lets one
  task at a time call ``transport.receive_some``; a task that waited for it skips its own
  receive if another task's receive arrived meanwhile (``_receives_done`` changed),
  since that data may already be what its step needed.
- What breaks the stream (engine state BROKEN, later calls raise BrokenResourceError):
  an ``ssl.SSLError`` (re-raised as the ``__cause__`` of BrokenResourceError), any error
  from the transport, and any exception -- cancellation included -- that interrupts a
  handshake, a send after its data reached the engine, an ``unwrap``, or the sending of
  ciphertext. A receive cancelled while it waits for the peer is harmless: no byte was
  consumed, and the stream stays usable.
"""

from __future__ import annotations

import operator
import ssl
from collections.abc import Callable
from functools import partial
from typing import Any, Final, Generic, TypeVar

from .._abc import Stream
from .._core import (
    BrokenResourceError,
    ClosedResourceError,
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
)
from .._streams import ConflictDetector
from ._mutex import FIFOMutex
from ._tls_engine import NEED_DATA, NeedData, TLSEngine, TLSEvent, TLSState

T_Stream = TypeVar("T_Stream", bound=Stream)
_R = TypeVar("_R")

# receive_some() with no max_bytes returns at most this much.
DEFAULT_RECEIVE_SIZE: Final = 65536
# send_all() hands the engine at most this much plaintext at a time, which bounds the
# ciphertext buffered in memory for one huge send_all.
_SEND_CHUNK_SIZE: Final = 262144

# The ssl.SSLObject attributes an SSLStream exposes as its own (reading and assigning).
_FORWARDED: Final = frozenset(
    {
        "cipher",
        "compression",
        "context",
        "get_channel_binding",
        "getpeercert",
        "pending",
        "selected_alpn_protocol",
        "selected_npn_protocol",
        "server_hostname",
        "server_side",
        "session",
        "session_reused",
        "shared_ciphers",
        "version",
    }
)
# ...of which these mean nothing until the handshake has finished.
_NEED_HANDSHAKE: Final = _FORWARDED - {
    "context",
    "pending",
    "server_hostname",
    "server_side",
    "session",
}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class NeedHandshakeError(Exception):
    """An :class:`SSLStream` attribute was read before the TLS handshake finished.

    Attributes such as ``getpeercert`` or ``selected_alpn_protocol`` only have a
    meaningful value once the handshake is done: ``await stream.do_handshake()`` first.
    """


class SSLStream(Stream, Generic[T_Stream]):
    """A TLS-encrypted :class:`~triolet.abc.Stream` over another stream.

    ``transport_stream`` carries the ciphertext (a ``SocketStream``, a memory stream,
    another ``SSLStream``...). The handshake runs implicitly on first use, or
    explicitly with :meth:`do_handshake`. Pass ``server_hostname`` as a client (it is
    sent as SNI and checked against the certificate when the context says so) and
    ``server_side=True`` as a server.

    ``https_compatible=True`` matches how HTTPS peers behave: :meth:`aclose` does not
    send ``close_notify``, and the peer closing the transport without one reads as a
    clean end of stream instead of BrokenResourceError.

    Reading the ``ssl.SSLObject`` attributes ``getpeercert``, ``selected_alpn_protocol``,
    ``cipher``, ``version``, ``session`` and friends goes through to the underlying
    object (``NeedHandshakeError`` for those that need the handshake first); the object
    itself is ``_ssl_object``, which some HTTP clients read.
    """

    transport_stream: T_Stream
    _ssl_object: ssl.SSLObject

    def __init__(
        self,
        transport_stream: T_Stream,
        ssl_context: ssl.SSLContext,
        *,
        server_hostname: str | bytes | None = None,
        server_side: bool = False,
        https_compatible: bool = False,
    ) -> None:
        self.transport_stream = transport_stream
        self._engine = TLSEngine(
            ssl_context,
            server_side=server_side,
            server_hostname=server_hostname,
            https_compatible=https_compatible,
        )
        self._ssl_object = self._engine.ssl_object
        self._https_compatible = https_compatible
        self._send_lock = FIFOMutex()
        self._receive_lock = FIFOMutex()
        self._receives_done = 0
        self._transport_eof = False
        # Why the stream broke, for the message of every later BrokenResourceError.
        self._broken_because = "a TLS error"
        # Bumped whenever this stream waits for anything; an operation that finds it
        # unchanged at the end has not yielded and must still checkpoint.
        self._waits = 0
        self._send_conflict = ConflictDetector(
            "another task is currently sending data on this SSLStream"
        )
        self._receive_conflict = ConflictDetector(
            "another task is currently receiving data on this SSLStream"
        )

    # ------------------------------------------------------------- attribute forwarding
    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            if name in _NEED_HANDSHAKE and not self._engine.handshake_done:
                raise NeedHandshakeError(f"call do_handshake() before calling {name!r}")
            return getattr(self._ssl_object, name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FORWARDED:
            setattr(self._ssl_object, name, value)
        else:
            super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *_FORWARDED]

    # ------------------------------------------------------------- the I/O driver
    def _check_usable(self) -> None:
        state = self._engine.state
        if state is TLSState.BROKEN:
            raise self._broken_error()
        if state is TLSState.CLOSED:
            raise ClosedResourceError("this SSLStream was closed")

    def _broken_error(self) -> BrokenResourceError:
        return BrokenResourceError(
            f"this SSLStream is broken by an earlier failure: {self._broken_because}"
        )

    def _break(self, because: str) -> None:
        """Move the engine to BROKEN (unless closed), remembering why for later errors."""
        if self._engine.state is not TLSState.BROKEN:
            self._broken_because = because
        self._engine.fire(TLSEvent.FAILED)

    async def _run_step(self, step: Callable[[], _R | NeedData]) -> _R:
        """Run an engine step to completion, sending its output and feeding it input.

        Raises BrokenResourceError (cause: the ssl error) if TLS fails, and whatever the
        transport raises. A step that completed but whose output could not be sent
        leaves the engine BROKEN: its effect is lost.
        """
        engine = self._engine
        while True:
            self._check_usable()
            receives_before = self._receives_done
            try:
                result = step()
            except ssl.SSLError as exc:
                self._broken_because = f"TLS failed ({exc})"
                await self._send_alert()
                raise BrokenResourceError(f"TLS failed: {exc}") from exc
            if engine.has_bytes_to_send:
                try:
                    await self._flush()
                except BaseException:
                    if result is not NEED_DATA:
                        self._break("the output of a completed TLS step could not be sent")
                    raise
            if result is not NEED_DATA:
                return result
            await self._receive_more(receives_before)

    async def _flush(self) -> None:
        """Send every ciphertext byte the engine holds, after all ciphertext taken before.

        A failure while the bytes are on their way -- including cancellation -- breaks
        the stream, because the peer may have got part of them.
        """
        lock = self._send_lock
        if not lock.try_acquire():
            self._waits += 1
            await lock.acquire()
        try:
            if self._engine.state is TLSState.BROKEN:
                # The previous holder failed to send, maybe with our bytes in hand.
                raise self._broken_error()
            data = self._engine.bytes_to_send()
            if data:
                self._waits += 1
                try:
                    await self.transport_stream.send_all(data)
                except BaseException as exc:
                    self._break(f"sending ciphertext failed or was cancelled ({_describe(exc)})")
                    raise
        finally:
            lock.release()

    async def _receive_more(self, receives_before: int) -> None:
        """Feed the engine the transport's next chunk, unless another task just did."""
        lock = self._receive_lock
        if not lock.try_acquire():
            self._waits += 1
            await lock.acquire()
        try:
            if self._receives_done != receives_before:
                return
            self._check_usable()
            if self._transport_eof:
                self._break("the transport reached EOF in the middle of TLS")
                raise self._broken_error()
            self._waits += 1
            try:
                data = await self.transport_stream.receive_some()
            except Exception as exc:
                self._break(f"receiving from the transport failed ({_describe(exc)})")
                raise
            if not data:
                self._transport_eof = True
            self._engine.receive_bytes(data)
            self._receives_done += 1
        finally:
            lock.release()

    async def _send_alert(self) -> None:
        """Best effort: tell the peer why TLS failed (the alert OpenSSL queued).

        Skipped if another task is sending; transport errors are ignored, since the
        stream is broken already and the TLS error is the one worth reporting.
        """
        engine = self._engine
        lock = self._send_lock
        if not engine.has_bytes_to_send or not lock.try_acquire():
            return
        try:
            await self.transport_stream.send_all(engine.bytes_to_send())
        except Exception:
            pass
        finally:
            lock.release()

    async def _handshake(self) -> None:
        try:
            await self._run_step(self._engine.handshake)
        except BaseException as exc:
            if not self._engine.handshake_done:
                self._break(f"the handshake failed or was cancelled ({_describe(exc)})")
            raise

    # ------------------------------------------------------------- public operations
    async def do_handshake(self) -> None:
        """Perform the TLS handshake now, if it has not happened yet; a checkpoint.

        Not needed before other operations (they start the handshake themselves), but
        useful to catch certificate errors early or to read ``getpeercert()``. Safe to
        call from several tasks at once; all return when it is done. Raises
        BrokenResourceError if the handshake fails (the ``ssl`` error is the
        ``__cause__``), ClosedResourceError after :meth:`aclose`. Cancelling a
        handshake breaks the stream.
        """
        self._check_usable()
        if self._engine.handshake_done:
            await checkpoint()
            return
        await checkpoint_if_cancelled()
        await self._handshake()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and send all of ``data``, handshaking first if needed; a checkpoint.

        BusyResourceError if another task is sending; BrokenResourceError if TLS or the
        transport failed; ClosedResourceError after :meth:`aclose`. If cancelled after
        it started sending, the stream is broken: the peer may have got part of ``data``.
        """
        with self._send_conflict:
            self._check_usable()
            await checkpoint_if_cancelled()
            engine = self._engine
            if not engine.handshake_done:
                await self._handshake()
            if not data:
                await cancel_shielded_checkpoint()
                return
            try:
                if len(data) <= _SEND_CHUNK_SIZE:
                    await self._run_step(partial(engine.write, data))
                else:
                    view = memoryview(data)
                    for start in range(0, len(view), _SEND_CHUNK_SIZE):
                        chunk = view[start : start + _SEND_CHUNK_SIZE]
                        await self._run_step(partial(engine.write, chunk))
            except BaseException as exc:
                self._break(f"send_all() failed or was cancelled midway ({_describe(exc)})")
                raise

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        """Wait for and return some decrypted bytes, at most ``max_bytes``; a checkpoint.

        Returns ``b""`` at the end of the stream: the peer's ``close_notify``, or (with
        ``https_compatible=True``) the transport closing. ValueError if ``max_bytes``
        is below 1; BusyResourceError if another task is receiving; BrokenResourceError
        if TLS or the transport failed, including an EOF without ``close_notify``;
        ClosedResourceError after :meth:`aclose`. Cancelling it while it waits for data
        loses nothing.
        """
        with self._receive_conflict:
            self._check_usable()
            if max_bytes is None:
                max_bytes = DEFAULT_RECEIVE_SIZE
            else:
                max_bytes = operator.index(max_bytes)
                if max_bytes < 1:
                    raise ValueError("max_bytes must be >= 1")
            await checkpoint_if_cancelled()
            waits_before = self._waits
            engine = self._engine
            if not engine.handshake_done:
                await self._handshake()
            data = await self._run_step(partial(engine.read, max_bytes))
            if self._waits == waits_before:
                await cancel_shielded_checkpoint()
            return data

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the transport can probably take more data; a checkpoint.

        Does not start the handshake. BusyResourceError if another task is sending;
        ClosedResourceError after :meth:`aclose`; BrokenResourceError if broken.
        """
        with self._send_conflict:
            self._check_usable()
            await checkpoint_if_cancelled()
            lock = self._send_lock
            await lock.acquire()
            try:
                await self.transport_stream.wait_send_all_might_not_block()
            finally:
                lock.release()

    async def unwrap(self) -> tuple[Stream, bytes | bytearray]:
        """End TLS but keep the connection: exchange ``close_notify`` with the peer.

        Returns ``(transport_stream, trailing_bytes)``: the transport, now yours again,
        and any bytes the peer sent after its ``close_notify`` (the start of whatever
        comes next). Afterwards this stream is closed and its ``transport_stream`` is
        None. Handshakes first if needed. BusyResourceError if another task is sending
        or receiving; BrokenResourceError if TLS or the transport fails. Cancelled
        while waiting for the peer's ``close_notify``, it may be called again.
        """
        with self._receive_conflict, self._send_conflict:
            self._check_usable()
            await checkpoint_if_cancelled()
            engine = self._engine
            if not engine.handshake_done:
                await self._handshake()
            # Cancelled while waiting for the peer's close_notify, it can be retried;
            # cancelled while sending ours, the stream is broken (_flush sees to that).
            await self._run_step(engine.shutdown)
            engine.fire(TLSEvent.UNWRAPPED)
            transport = self.transport_stream
            # The transport is the caller's now; this stream lets go of it.
            self.transport_stream = None  # type: ignore[assignment]
            return transport, engine.trailing_bytes()

    async def aclose(self) -> None:
        """Close the TLS connection and the transport stream; a checkpoint; idempotent.

        Sends ``close_notify`` first (after finishing the handshake, if it never
        happened) but does not wait for the peer's reply; with
        ``https_compatible=True``, or if the stream is broken, it just closes the
        transport. Errors on the way (a peer that is already gone) are ignored; the
        transport is closed even if this is cancelled.
        """
        engine = self._engine
        if engine.state is TLSState.CLOSED:
            await checkpoint()
            return
        if engine.state is TLSState.BROKEN or self._https_compatible:
            engine.fire(TLSEvent.CLOSED)
            await self.transport_stream.aclose()
            return
        try:
            if not engine.handshake_done:
                await self._handshake()
            await self._run_step(self._close_notify_step)
        except (BrokenResourceError, ClosedResourceError):
            pass
        finally:
            engine.fire(TLSEvent.CLOSED)
            await self.transport_stream.aclose()

    def _close_notify_step(self) -> None:
        self._engine.send_close_notify()
