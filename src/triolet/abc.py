"""Abstract base classes: implement these to plug into triolet."""

from ._core import Clock, Instrument

__all__ = ["Clock", "Instrument"]
