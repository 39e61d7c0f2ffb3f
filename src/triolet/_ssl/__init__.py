"""TLS for triolet streams: SSLStream, SSLListener and the TCP helpers built on them.

``_tls_engine`` holds the sans-I/O TLS state machine; ``_stream`` drives it over any
stream; ``_listener`` and ``_tcp`` add listeners and the open/serve helpers.
"""

from ._listener import SSLListener
from ._stream import NeedHandshakeError, SSLStream
from ._tcp import open_ssl_over_tcp_listeners, open_ssl_over_tcp_stream, serve_ssl_over_tcp

__all__ = [
    "NeedHandshakeError",
    "SSLListener",
    "SSLStream",
    "open_ssl_over_tcp_listeners",
    "open_ssl_over_tcp_stream",
    "serve_ssl_over_tcp",
]
