"""Generic stream helpers that work over any :mod:`triolet.abc` stream.

``StapledStream`` joins a send stream and a receive stream into one two-way stream;
``aclose_forcefully`` closes any resource without waiting for a graceful goodbye;
``ConflictDetector`` is the guard stream implementations use to turn two tasks calling
the same method at once into :class:`~triolet.BusyResourceError`.
"""

from ._aclose_forcefully import aclose_forcefully
from ._conflict import ConflictDetector
from ._stapled import StapledStream

__all__ = ["ConflictDetector", "StapledStream", "aclose_forcefully"]
