"""Call back into a triolet run from a worker thread."""

from ._threads import check_cancelled
from ._threads import from_thread_run as run
from ._threads import from_thread_run_sync as run_sync

__all__ = ["check_cancelled", "run", "run_sync"]
