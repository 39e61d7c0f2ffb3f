"""Dispatch of instrument hooks, at zero cost when no instrument is installed.

The run loop checks one boolean (``runner.instrumented``) before calling
:meth:`Instruments.call`. Each hook keeps its own list of the instruments that
override it, so an instrument that only traces I/O waits costs nothing per step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from ._abc import Instrument

HOOKS = (
    "before_run",
    "after_run",
    "task_spawned",
    "task_scheduled",
    "before_task_step",
    "after_task_step",
    "task_exited",
    "before_io_wait",
    "after_io_wait",
)


_ONCE_HOOKS = ("before_run", "after_run")


class Instruments:
    """The instruments of one run, indexed by hook name."""

    def __init__(self, instruments: Sequence[Instrument], on_change: Callable[[], None]) -> None:
        self.by_hook: dict[str, list[Instrument]] = {hook: [] for hook in HOOKS}
        for instrument in instruments:
            self.add(instrument)
        self._on_change = on_change

    def __bool__(self) -> bool:
        """Whether any hook that the run loop calls repeatedly has an instrument.

        ``before_run``/``after_run`` are called once per run whatever this says, so an
        instrument that only uses those costs nothing per step.
        """
        return any(hooked for hook, hooked in self.by_hook.items() if hook not in _ONCE_HOOKS)

    def wants(self, hook: str) -> bool:
        return bool(self.by_hook[hook])

    _on_change: Callable[[], None] = staticmethod(lambda: None)

    def add(self, instrument: Instrument) -> None:
        if not isinstance(instrument, Instrument) and not any(
            hasattr(instrument, hook) for hook in HOOKS
        ):
            raise TypeError(f"{instrument!r} is not an Instrument")
        for hook in HOOKS:
            method = getattr(type(instrument), hook, None)
            base = getattr(Instrument, hook)
            if method is None or method is base:
                continue
            if instrument not in self.by_hook[hook]:
                self.by_hook[hook].append(instrument)
        self._on_change()

    def remove(self, instrument: Instrument) -> None:
        found = False
        for hooked in self.by_hook.values():
            if instrument in hooked:
                hooked.remove(instrument)
                found = True
        if not found:
            raise KeyError(f"instrument {instrument!r} is not installed in this run")
        self._on_change()

    def call(self, hook: str, *args: object) -> None:
        """Call ``hook`` on every instrument that has it; drop any instrument that raises."""
        for instrument in list(self.by_hook[hook]):
            try:
                getattr(instrument, hook)(*args)
            except BaseException as exc:
                self.remove(instrument)
                warnings.warn(
                    RuntimeWarning(
                        f"instrument {instrument!r} raised {exc!r} in {hook}; it has been "
                        "removed from the run"
                    ),
                    stacklevel=1,
                )
