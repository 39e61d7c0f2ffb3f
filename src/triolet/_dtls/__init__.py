"""DTLS over UDP: DTLSEndpoint, DTLSChannel, DTLSChannelStatistics (pyOpenSSL extra).

``_records`` is the sans-I/O part (record parsing, stateless cookies, datagram packing);
``_channel`` drives one association; ``_endpoint`` owns the socket and routes datagrams.
Importing this package never needs pyOpenSSL; creating an endpoint or channel does.
"""

from ._channel import DTLSChannel, DTLSChannelStatistics
from ._endpoint import DTLSEndpoint

__all__ = ["DTLSChannel", "DTLSChannelStatistics", "DTLSEndpoint"]
