"""Sync tools in worker threads whose effects land only while their call is live.

A worker thread cannot be stopped from outside: on cancel, timeout or Ctrl-C trio abandons it and
it runs on. So a sync tool that changes the workspace prepares its change where no one sees it (a
temporary file) and commits it (the rename) inside ``commit_point()``. The commit and the stop are
decided under one lock: either the call is stopped first, and the commit is refused (the thread
throws its work away), or the commit happened first, and the stop is refused (the call's change is
already made, so it is reported as done with its real result, never as "cancelled"). A cancelled
call has no further effect on the workspace (DESIGN 6).

Read-only tools call ``check_live()`` in their loops so that a stopped call also stops using the
CPU and its files soon after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import outcome
import trio

from ._api import ToolError

__all__ = ["CallGuard", "CallStopped", "check_live", "commit_point", "on_stop", "run_in_worker"]


class CallStopped(ToolError):
    """The call was cancelled or timed out; its thread must not change anything any more."""


class CallGuard:
    """The liveness of one sync tool call, shared by the task that runs it and its worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._committed = False
        self._on_stop: list[Callable[[], object]] = []

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> bool:
        """Stop the call. True if it has changed nothing (and now never will); False if its change
        was already committed, so the call must be let finish."""
        with self._lock:
            if self._committed:
                return False
            self._stopped = True
            callbacks, self._on_stop = self._on_stop, []
        for callback in callbacks:
            callback()
        return True

    def add_stop_callback(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (from the stopping thread) when the call is stopped; at once if it
        already was."""
        with self._lock:
            if not self._stopped:
                self._on_stop.append(callback)
                return
        callback()

    def remove_stop_callback(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if callback in self._on_stop:
                self._on_stop.remove(callback)

    @contextmanager
    def commit(self) -> Iterator[None]:
        """Hold the lock while the change is made; refuse it if the call was stopped.

        Raises:
            CallStopped: the call was stopped before the commit.
        """
        with self._lock:
            if self._stopped:
                raise CallStopped("the call was cancelled before its change was made")
            self._committed = True
            yield


_GUARD: ContextVar[CallGuard | None] = ContextVar("asyncfc_call_guard", default=None)


@contextmanager
def commit_point() -> Iterator[None]:
    """Make the calling tool's change here, only if its call is still live (see module doc).

    Outside a guarded call (a direct call from a test or a script) it always commits.
    """
    guard = _GUARD.get()
    if guard is None:
        yield
        return
    with guard.commit():
        yield


@contextmanager
def on_stop(callback: Callable[[], object]) -> Iterator[None]:
    """While the block runs, stopping the calling tool's call calls ``callback`` (e.g. to kill a
    child process the tool is reading from). Outside a guarded call it does nothing."""
    guard = _GUARD.get()
    if guard is None:
        yield
        return
    guard.add_stop_callback(callback)
    try:
        yield
    finally:
        guard.remove_stop_callback(callback)


def check_live() -> None:
    """Raise CallStopped if the calling tool's call was stopped; cheap enough for inner loops."""
    guard = _GUARD.get()
    if guard is not None and guard.stopped:
        raise CallStopped("the call was cancelled")


async def run_in_worker(fn: Callable[[], Any], guard: CallGuard) -> Any:
    """Run the sync ``fn`` in a worker thread under ``guard``; return its result.

    On cancellation the guard is stopped and the thread abandoned, unless the thread had already
    committed its change: then its result is waited for (shielded: after the commit only the
    report is left to make) and returned, and the caller's cancellation is delivered at its next
    checkpoint.
    """
    token = trio.lowlevel.current_trio_token()
    finished = trio.Event()
    result: list[outcome.Outcome] = []

    def work() -> None:
        _GUARD.set(guard)
        try:
            result.append(outcome.capture(fn))
        finally:
            try:
                token.run_sync_soon(finished.set)
            except trio.RunFinishedError:
                pass

    try:
        await trio.to_thread.run_sync(work, abandon_on_cancel=True)
    except trio.Cancelled:
        if guard.stop():
            raise
        with trio.CancelScope(shield=True):
            await finished.wait()
    return result[0].unwrap()
