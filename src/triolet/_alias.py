"""The trio alias: run libraries written for trio (anyio's trio backend, httpx, hypercorn,
trio-websocket, ...) on triolet, unchanged.

After :func:`install_trio_alias`:

* ``import trio`` gives the ``triolet`` module itself, and ``import trio.X`` gives
  ``triolet.X`` for every public submodule (``abc``, ``from_thread``, ``lowlevel``,
  ``socket``, ``testing``, ``to_thread``), so objects are shared: ``trio.Cancelled is
  triolet.Cancelled``;
* any other ``trio.<path>`` import is answered with ``triolet.<path>`` when that module
  exists, so no second copy of a triolet module is ever created under a ``trio`` name;
* ``sniffio.current_async_library()`` answers ``"trio"`` inside runs started afterwards,
  which is what makes sniffio-based libraries pick their trio code path.

The alias is process-wide and permanent (``sys.modules`` is process-wide); install it
before anything imports trio, typically first thing in ``__main__`` or a conftest, or run
a whole program with ``python -m triolet run --as-trio SCRIPT``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence

from ._core import _run

# Every public submodule trio 0.35 has; those triolet doesn't have yet are skipped.
_PUBLIC_SUBMODULES = ("abc", "from_thread", "lowlevel", "socket", "testing", "to_thread")

_ALIAS = "trio"
_TARGET = "triolet"


def install_trio_alias() -> None:
    """Make ``import trio`` (and its submodules) resolve to triolet, and make sniffio
    report ``"trio"`` inside triolet runs started from now on.

    Idempotent. Not a checkpoint. Raises RuntimeError if the real trio was already
    imported, since objects from two different libraries can't be mixed in one run:
    install the alias before anything imports trio.
    """
    if _AliasFinder.installed():
        return
    real_trio = [
        name
        for name, module in list(sys.modules.items())
        if _is_alias_name(name) and not _is_triolet_module(module)
    ]
    if real_trio:
        raise RuntimeError(
            f"cannot alias trio to triolet: {', '.join(sorted(real_trio))} already imported "
            "the real trio; call triolet.install_trio_alias() before anything imports trio "
            "(or start the program with 'python -m triolet run --as-trio')"
        )
    sys.meta_path.insert(0, _AliasFinder())
    target = importlib.import_module(_TARGET)
    sys.modules[_ALIAS] = target
    for submodule in _PUBLIC_SUBMODULES:
        try:
            module = importlib.import_module(f"{_TARGET}.{submodule}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{_TARGET}.{submodule}":
                raise
            continue
        sys.modules[f"{_ALIAS}.{submodule}"] = module
    _run._sniffio_override.append(_ALIAS)


def _is_alias_name(name: str) -> bool:
    return name == _ALIAS or name.startswith(_ALIAS + ".")


def _is_triolet_module(module: object) -> bool:
    name = getattr(module, "__name__", "")
    return isinstance(name, str) and (name == _TARGET or name.startswith(_TARGET + "."))


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Answers ``trio.<path>`` imports not already in sys.modules with ``triolet.<path>``.

    Without it, Python would look for ``trio.<path>`` inside ``trio.__path__`` (that is,
    triolet's directory) and execute a second, independent copy of a triolet module.
    """

    @classmethod
    def installed(cls) -> bool:
        return any(isinstance(finder, cls) for finder in sys.meta_path)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not _is_alias_name(fullname):
            return None
        target_name = _TARGET + fullname[len(_ALIAS) :]
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as exc:
            if exc.name != target_name:
                raise
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: the trio alias maps it to {target_name!r}, "
                "which triolet does not have",
                name=fullname,
            ) from None
        return importlib.machinery.ModuleSpec(fullname, _ExistingModuleLoader(module))


class _ExistingModuleLoader(importlib.abc.Loader):
    """Loads an alias name as an already-imported triolet module (no second copy)."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._own_spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system has just set module.__spec__ to the alias's spec; the
        # module keeps its own identity.
        module.__spec__ = self._own_spec
