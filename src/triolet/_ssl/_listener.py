"""SSLListener: wrap each connection another listener accepts in a server-side SSLStream."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from functools import partial
from typing import Generic

from .._abc import Listener
from ._stream import SSLStream, T_Stream


class SSLListener(Listener[SSLStream[T_Stream]], Generic[T_Stream]):
    """A :class:`~triolet.abc.Listener` whose streams speak TLS as the server.

    ``accept()`` waits for a connection on ``transport_listener`` and returns it wrapped
    in ``SSLStream(stream, ssl_context, server_side=True,
    https_compatible=https_compatible)``. The handshake is not done here: it happens on
    the stream's first use, in whichever task handles the connection, so one slow or
    hostile client cannot hold up the accept loop.
    """

    def __init__(
        self,
        transport_listener: Listener[T_Stream],
        ssl_context: ssl.SSLContext,
        *,
        https_compatible: bool = False,
    ) -> None:
        # Everything about the server-side wrapping except the stream itself is fixed
        # now, so accept() only has to supply each new connection.
        self._wrap_server_side: Callable[[T_Stream], SSLStream[T_Stream]] = partial(
            SSLStream,
            ssl_context=ssl_context,
            server_side=True,
            https_compatible=https_compatible,
        )
        self.transport_listener = transport_listener

    async def accept(self) -> SSLStream[T_Stream]:
        """Accept the next connection and wrap it; raises what the transport's ``accept`` raises."""
        return self._wrap_server_side(await self.transport_listener.accept())

    async def aclose(self) -> None:
        """Close the transport listener; a checkpoint."""
        await self.transport_listener.aclose()
