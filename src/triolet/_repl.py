"""``python -m triolet``: an interactive console where ``await`` works at top level.

The console runs in the main thread and the triolet loop in a background thread, so
Ctrl-C behaves as in the plain Python REPL: at the prompt it discards the line; while
an awaited statement runs it cancels that statement (and only it), and the loop and
everything started from earlier statements keep running.
"""

from __future__ import annotations

import ast
import code
import concurrent.futures
import inspect
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from . import _core


class TrioletConsole(code.InteractiveConsole):
    def __init__(self, namespace: dict[str, Any]) -> None:
        super().__init__(namespace)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self._ready = threading.Event()
        self._token: _core.TrioToken | None = None
        self._nursery: _core.Nursery | None = None
        self._statement_scope: _core.CancelScope | None = None
        self._loop_thread = threading.Thread(
            target=self._run_loop, name="triolet REPL loop", daemon=True
        )
        self._loop_thread.start()
        self._ready.wait()

    # -- the loop thread ------------------------------------------------------------
    def _run_loop(self) -> None:
        _core.run(self._serve)

    async def _serve(self) -> None:
        async with _core.open_nursery() as nursery:
            self._nursery = nursery
            self._token = _core.current_trio_token()
            self._ready.set()
            await _core.sleep_forever()

    async def _execute(
        self, statement: Callable[[], Any], future: concurrent.futures.Future[Any]
    ) -> None:
        # Every statement runs here, in a task of the loop, so task_tree(), current_task()
        # and friends work at the prompt; only statements with `await` give a coroutine.
        with _core.CancelScope() as scope:
            self._statement_scope = scope
            try:
                result = statement()
                if inspect.iscoroutine(result):
                    result = await result
            except _core.Cancelled:
                raise  # our scope catches it below: that was Ctrl-C
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
        if scope.cancelled_caught:
            future.set_exception(KeyboardInterrupt())

    def _start_statement(
        self, statement: Callable[[], Any], future: concurrent.futures.Future[Any]
    ) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._execute, statement, future, name="<REPL statement>")

    def _cancel_statement(self) -> None:
        if self._statement_scope is not None:
            self._statement_scope.cancel(reason="Ctrl-C in the REPL")

    # -- the console thread -----------------------------------------------------------
    def runcode(self, code_object: types.CodeType) -> None:
        func = types.FunctionType(code_object, self.locals)
        assert self._token is not None
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._token.run_sync_soon(self._start_statement, func, future)
        while True:
            try:
                future.result()
                return
            except KeyboardInterrupt:
                if future.done():
                    self.write("\nKeyboardInterrupt\n")
                    return
                self._token.run_sync_soon(self._cancel_statement)
            except SystemExit:
                raise
            except BaseException:
                self.showtraceback()
                return


def main() -> int:
    """Start the console; returns the exit status."""
    import triolet

    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__doc__": None,
        "triolet": triolet,
        "trio": triolet,
    }
    console = TrioletConsole(namespace)
    banner = (
        f"triolet REPL {triolet.__version__} on Python {sys.version.split()[0]}\n"
        "Use \"await\" directly; 'triolet' (also as 'trio') is imported. Ctrl-C cancels the "
        "running statement."
    )
    try:
        console.interact(banner=banner, exitmsg="exiting triolet REPL")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
