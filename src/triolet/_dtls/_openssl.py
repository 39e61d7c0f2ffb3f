"""pyOpenSSL is an optional extra: import it only when DTLS is used, with a helpful error."""

from __future__ import annotations

from types import ModuleType


def require_openssl() -> ModuleType:
    """Return ``OpenSSL.SSL``; ImportError naming the extra to install if it is missing."""
    try:
        from OpenSSL import SSL
    except ImportError as exc:
        raise ImportError(
            "triolet's DTLS support needs pyOpenSSL; install it with "
            "`pip install triolet[dtls]` (or `pip install pyOpenSSL`)"
        ) from exc
    return SSL
