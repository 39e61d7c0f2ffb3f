"""Sans-I/O TLS state for :class:`SSLStream`: ciphertext bytes in, ciphertext bytes out.

No awaiting and no transport here. The engine wraps one ``ssl.SSLObject`` between two
``ssl.MemoryBIO`` buffers; the stream module (``_stream.py``) moves the bytes and decides
when to wait. Each TLS step returns either its result or :data:`NEED_DATA`, meaning "feed
me more ciphertext with :meth:`TLSEngine.receive_bytes` and call me again". Any ciphertext
a step produced waits in :meth:`TLSEngine.bytes_to_send` whatever the step returned.

Lifecycle (the table ``_TRANSITIONS`` below is the source of truth):

    state        event             next state   why
    -----------  ----------------  -----------  -----------------------------------------
    HANDSHAKING  HANDSHAKE_DONE    OPEN         application data may flow
    HANDSHAKING  FAILED            BROKEN       TLS error, transport error, or cancelled
    OPEN         FAILED            BROKEN       ... anything that may have lost bytes
    HANDSHAKING  CLOSED            CLOSED       aclose() before the handshake
    OPEN         CLOSED            CLOSED       aclose()
    OPEN         UNWRAPPED         CLOSED       unwrap(): the transport goes back to the user
    BROKEN       CLOSED            CLOSED       aclose() of a broken stream
    BROKEN       FAILED            BROKEN       a second failure changes nothing
    CLOSED       FAILED / CLOSED   CLOSED       closing wins: later failures come from it

Rules the steps keep:
- Only HANDSHAKING and OPEN accept steps; the stream checks :attr:`TLSEngine.state`
  before each step and raises ``BrokenResourceError`` / ``ClosedResourceError``.
- An ``ssl.SSLError`` from a step moves the engine to BROKEN and propagates unchanged:
  the stream re-raises it as the ``__cause__`` of a ``BrokenResourceError``. Whatever
  alert OpenSSL queued stays in :meth:`bytes_to_send` so the peer can be told.
- Transport EOF without ``close_notify`` is an error, except after the handshake with
  ``https_compatible=True``, where it reads as a clean EOF (HTTPS peers routinely skip
  ``close_notify``; HTTP framing protects them from truncation).
- After a clean EOF (``close_notify`` or the HTTPS exception) every read returns ``b""``.
- Some ciphertext is *deferred*: :attr:`has_bytes_to_send` ignores it, and it leaves with
  the next ciphertext. That is a TLS 1.3 server's session tickets, written as its
  handshake completes (the client needs them not), and the alert OpenSSL queues when an
  HTTPS-compatible read meets EOF (the peer has gone).
"""

from __future__ import annotations

import enum
import ssl
from typing import Final, Literal, TypeAlias


class TLSState(enum.Enum):
    """Where a TLS connection is in its life; see the module docstring's table."""

    HANDSHAKING = "handshaking"
    OPEN = "open"
    BROKEN = "broken"
    CLOSED = "closed"


class TLSEvent(enum.Enum):
    """Something that moves a TLS connection from one :class:`TLSState` to another."""

    HANDSHAKE_DONE = "handshake done"
    FAILED = "failed"
    CLOSED = "closed"
    UNWRAPPED = "unwrapped"


_S = TLSState
_E = TLSEvent
_TRANSITIONS: Final[dict[tuple[TLSState, TLSEvent], TLSState]] = {
    (_S.HANDSHAKING, _E.HANDSHAKE_DONE): _S.OPEN,
    (_S.HANDSHAKING, _E.FAILED): _S.BROKEN,
    (_S.OPEN, _E.FAILED): _S.BROKEN,
    (_S.HANDSHAKING, _E.CLOSED): _S.CLOSED,
    (_S.OPEN, _E.CLOSED): _S.CLOSED,
    (_S.OPEN, _E.UNWRAPPED): _S.CLOSED,
    (_S.BROKEN, _E.CLOSED): _S.CLOSED,
    (_S.BROKEN, _E.FAILED): _S.BROKEN,
    (_S.CLOSED, _E.FAILED): _S.CLOSED,
    (_S.CLOSED, _E.CLOSED): _S.CLOSED,
}


class _NeedData(enum.Enum):
    NEED_DATA = "need data"


NEED_DATA: Final = _NeedData.NEED_DATA
"""A step's answer meaning: feed more ciphertext, then call the step again."""

NeedData: TypeAlias = Literal[_NeedData.NEED_DATA]

# One TLS record carries at most 16 KiB of plaintext.
_RECORD_PLAINTEXT_SIZE: Final = 16384


class TLSEngine:
    """One TLS connection's state machine around an ``ssl.SSLObject`` and two memory BIOs.

    ``ssl_context.wrap_bio`` errors (say ``check_hostname`` without ``server_hostname``)
    propagate from the constructor.
    """

    __slots__ = (
        "_clean_eof",
        "_deferred_error",
        "_deferred_output",
        "_handshake_done",
        "_https_compatible",
        "_incoming",
        "_outgoing",
        "_state",
        "ssl_object",
    )

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | bytes | None,
        https_compatible: bool,
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object: ssl.SSLObject = ssl_context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._https_compatible = https_compatible
        self._state = TLSState.HANDSHAKING
        self._handshake_done = False
        self._clean_eof = False
        # An error met while draining extra records; raised by the next read, after the
        # bytes decrypted before it were returned.
        self._deferred_error: ssl.SSLError | None = None
        # How many bytes at the front of the outgoing buffer may wait for the next
        # flush; see handshake().
        self._deferred_output = 0

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> TLSState:
        """The current :class:`TLSState`."""
        return self._state

    @property
    def handshake_done(self) -> bool:
        """True once the handshake has finished (even if the stream broke or closed since)."""
        return self._handshake_done

    def fire(self, event: TLSEvent) -> TLSState:
        """Apply ``event`` to the state table; returns the new state.

        RuntimeError for a transition the table does not allow: that is a bug in the
        stream, never a peer's doing.
        """
        try:
            self._state = _TRANSITIONS[self._state, event]
        except KeyError:
            raise RuntimeError(
                f"TLS engine: no transition from {self._state.name} on {event.name}"
            ) from None
        return self._state

    # ------------------------------------------------------------------ bytes
    def bytes_to_send(self) -> bytes:
        """Take every ciphertext byte produced so far (``b""`` if none), deferred ones too."""
        self._deferred_output = 0
        return self._outgoing.read()

    @property
    def has_bytes_to_send(self) -> bool:
        """Whether ciphertext is waiting that should be sent now (not merely deferred)."""
        return self._outgoing.pending > self._deferred_output

    def receive_bytes(self, data: bytes | bytearray) -> None:
        """Feed ciphertext from the transport; ``b""`` means the transport hit EOF."""
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    def trailing_bytes(self) -> bytes:
        """Bytes received after the peer's ``close_notify``: plaintext for the unwrapped transport."""
        return self._incoming.read()

    # ------------------------------------------------------------------ steps
    def handshake(self) -> NeedData | None:
        """Advance the handshake; None once it is complete (at once if it already was)."""
        try:
            self.ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            return NEED_DATA
        except ssl.SSLError:
            self.fire(TLSEvent.FAILED)
            raise
        if not self._handshake_done:
            self._handshake_done = True
            self.fire(TLSEvent.HANDSHAKE_DONE)
            if self.ssl_object.server_side and self.ssl_object.version() == "TLSv1.3":
                # What a TLS 1.3 server writes as its handshake completes is session
                # tickets, which the client does not need to finish. Holding them until
                # the next flush lets do_handshake() return even if the client never
                # reads again (over an unbuffered transport it would block forever).
                self._deferred_output = self._outgoing.pending
        return None

    def read(self, max_bytes: int) -> bytes | NeedData:
        """Decrypt up to ``max_bytes`` of application data already received.

        Returns as much as the buffered records hold (several records if they fit),
        ``b""`` at a clean EOF, or NEED_DATA if no whole record is buffered yet.
        """
        if self._clean_eof:
            return b""
        if self._deferred_error is not None:
            exc, self._deferred_error = self._deferred_error, None
            return self._read_failed(exc)
        ssl_object = self.ssl_object
        try:
            first = ssl_object.read(min(max_bytes, _RECORD_PLAINTEXT_SIZE))
        except ssl.SSLWantReadError:
            return NEED_DATA
        except ssl.SSLError as exc:
            return self._read_failed(exc)
        if not first:
            self._clean_eof = True
            return b""
        # Draining every whole record already buffered saves the caller a checkpoint and
        # a call per 16 KiB record.
        remaining = max_bytes - len(first)
        incoming = self._incoming
        if remaining <= 0 or not incoming.pending:
            return first
        chunks = [first]
        while remaining > 0 and incoming.pending:
            try:
                chunk = ssl_object.read(min(remaining, _RECORD_PLAINTEXT_SIZE))
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError as exc:
                self._deferred_error = exc
                break
            if not chunk:
                self._clean_eof = True
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _read_failed(self, exc: ssl.SSLError) -> bytes:
        if isinstance(exc, ssl.SSLZeroReturnError):
            self._clean_eof = True
            return b""
        if isinstance(exc, ssl.SSLEOFError) and self._https_compatible and self._handshake_done:
            self._clean_eof = True
            # OpenSSL queued an alert about the truncation; the peer has hung up, so
            # it waits (deferred) instead of making this read fail on sending it.
            self._deferred_output = self._outgoing.pending
            return b""
        self.fire(TLSEvent.FAILED)
        raise exc

    def write(self, data: bytes | bytearray | memoryview) -> NeedData | None:
        """Encrypt all of ``data``; None when done.

        NEED_DATA only while a TLS 1.2 renegotiation waits for the peer; then call
        again with the same data once more ciphertext has arrived.
        """
        try:
            self.ssl_object.write(data)
        except ssl.SSLWantReadError:
            return NEED_DATA
        except ssl.SSLError:
            self.fire(TLSEvent.FAILED)
            raise
        return None

    def send_close_notify(self) -> None:
        """Queue our ``close_notify`` without waiting for the peer's (what aclose does)."""
        try:
            self.ssl_object.unwrap()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            self.fire(TLSEvent.FAILED)
            raise

    def shutdown(self) -> NeedData | None:
        """Exchange ``close_notify`` both ways; None once the peer's has arrived.

        Then :meth:`trailing_bytes` holds what followed it; the caller fires UNWRAPPED
        once our own ``close_notify`` has been sent.
        """
        try:
            self.ssl_object.unwrap()
        except ssl.SSLWantReadError:
            return NEED_DATA
        except ssl.SSLError:
            self.fire(TLSEvent.FAILED)
            raise
        return None
