"""Starting a long-lived command (a dev server, a watcher) whose call goes on after it is up.

The model needs to know at once whether the process started (and on which port, with which
warning), but must not wait for it to end. So the first output is collected until it goes quiet,
or a cap passes, and handed to the engine as the call's start (``CallProgress.started``); the
process then runs on, streaming its output, until it exits, is cancelled, or the session ends
(the cancellation kills its whole process group in ``run_command``). Times are on trio's clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from ._api import CallProgress

__all__ = ["QUIET_S", "START_CAP_S", "StartWatch", "run_in_background"]

QUIET_S = 1.0
"""A background command has started once its output has been quiet this long."""
START_CAP_S = 3.0
"""The longest the model waits to hear that a background command started (one printing nothing)."""
_FIRST_CHARS = 4_000


class StartWatch:
    """Collects a background command's first output and says when it has gone quiet."""

    def __init__(self, quiet_s: float, cap_s: float) -> None:
        self.quiet_s = quiet_s
        self.deadline = trio.current_time() + cap_s
        self.text = ""
        self.last_output: float | None = None
        self._fed = trio.Event()

    def feed(self, text: str) -> None:
        if len(self.text) < _FIRST_CHARS:
            self.text += text[: _FIRST_CHARS - len(self.text)]
        self.last_output = trio.current_time()
        self._fed.set()

    def settles_at(self) -> float:
        """When the start is over if nothing more is printed: quiet after output, else the cap."""
        if self.last_output is None:
            return self.deadline
        return min(self.deadline, self.last_output + self.quiet_s)

    async def wait_started(self) -> None:
        """Return once the output has been quiet for ``quiet_s`` or the cap has passed."""
        while (at := self.settles_at()) > trio.current_time():
            with trio.move_on_at(at):
                await self._fed.wait()  # more output moves the moment on
            self._fed = trio.Event()


async def run_in_background(
    run: Callable[[Callable[[str], None]], Awaitable[str]],
    progress: CallProgress,
    *,
    quiet_s: float = QUIET_S,
    cap_s: float = START_CAP_S,
) -> str:
    """Run a command that keeps running, and report its start through ``progress.started``.

    Args:
        run: runs the command to its end with the given live-output callback and returns the
            result text (exit status and the tail of the output).
        progress: the call's progress channel; it also gets every piece of output.

    Returns:
        The result text, when the process exits by itself (a crash, or it finished its work). If
        it exits before it has settled, nothing is reported as started: the call just ends.
    """
    watch = StartWatch(quiet_s, cap_s)

    def on_output(text: str) -> None:
        watch.feed(text)
        progress.output(text)

    async def announce() -> None:
        await watch.wait_started()
        progress.started(watch.text)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(announce)
        result = await run(on_output)
        nursery.cancel_scope.cancel()
    return result
