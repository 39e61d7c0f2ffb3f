"""aclose_forcefully: close a resource right now, skipping any graceful shutdown."""

from __future__ import annotations

from .._abc import AsyncResource
from .._core import CancelScope


async def aclose_forcefully(resource: AsyncResource) -> None:
    """Close ``resource`` immediately, without waiting for a clean goodbye.

    ``aclose()`` runs inside an already-cancelled scope: a resource that would block to
    shut down politely (a TLS stream sending its close-notify, say) gives up at its
    first checkpoint, and the contract of ``aclose`` guarantees the resource is closed
    anyway. The cancellation is absorbed here; any other exception from ``aclose``
    propagates. A checkpoint only insofar as ``aclose`` is one; it never blocks.
    """
    with CancelScope() as scope:
        scope.cancel()
        await resource.aclose()
