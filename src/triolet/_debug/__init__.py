"""Beyond trio: looking inside a running program (watchdog, deadlock report, ps/pstree)."""

from ._control import enable_deadlock_detection
from ._env import install as _install_environment_switches
from ._server import enable_debug_server, fetch_task_tree
from ._watchdog import LoopWatchdog

__all__ = ["LoopWatchdog", "enable_deadlock_detection", "enable_debug_server", "fetch_task_tree"]

_install_environment_switches()
