"""Starting a long-lived command (a dev server, a watcher) whose call goes on after it is up.

The model needs to know at once whether the process started (and on which port, with which
warning), but must not wait for it to end. So the first output is collected until it goes quiet,
or a cap passes, and handed to the engine as the call's start (``CallProgress.started``); the
process then runs on, streaming its output, until it exits, is cancelled, or the session ends
(the cancellation kills its whole process group in ``run_command``). A server is up the moment
it listens: where its processes can be looked at (``Listening``), that ends the start at once
(after the line it prints on listening), and the start says the address. Times are on trio's
clock.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import trio

from ._api import CallProgress

__all__ = ["LISTEN_POLL_S", "LISTEN_QUIET_S", "Listening", "QUIET_S", "START_CAP_S", "StartWatch",
           "run_in_background"]

Listening = Callable[[], Awaitable[list[str]]]
"""Looks up the addresses a command's processes listen on now (``_listening``, in a worker thread:
it reads /proc)."""

QUIET_S = 1.0
"""A background command has started once its output has been quiet this long."""
START_CAP_S = 3.0
"""The longest the model waits to hear that a background command started (one printing nothing)."""
LISTEN_POLL_S = 0.1
"""How often a starting background command is looked at for a listening socket."""
LISTEN_QUIET_S = 0.2
"""Once it listens, how long its output must be quiet (for the "listening on" line it prints)."""
_FIRST_CHARS = 4_000


class StartWatch:
    """Collects a background command's first output and says when it has gone quiet."""

    def __init__(self, quiet_s: float, cap_s: float) -> None:
        self.quiet_s = quiet_s
        self.deadline = trio.current_time() + cap_s
        self.text = ""
        self.last_output: float | None = None
        self.listening: list[str] = []
        """The addresses it was found listening on (empty: none seen, or none can be seen)."""
        self._fed = trio.Event()
        self._probe: Listening | None = None
        self._listened_at: float | None = None

    def watch_listening(self, probe: Listening) -> None:
        """Look at the command's sockets with ``probe`` from now on (called once it started)."""
        self._probe = probe
        self._fed.set()  # a waiter starts polling

    def feed(self, text: str) -> None:
        if len(self.text) < _FIRST_CHARS:
            self.text += text[: _FIRST_CHARS - len(self.text)]
        self.last_output = trio.current_time()
        self._fed.set()

    def settles_at(self) -> float:
        """When the start is over if nothing more is printed: shortly after it listens, quiet
        after output, else the cap."""
        if self._listened_at is not None:
            return min(self.deadline, max(self._listened_at, self.last_output or 0.0) + LISTEN_QUIET_S)
        if self.last_output is None:
            return self.deadline
        return min(self.deadline, self.last_output + self.quiet_s)

    async def _look(self) -> float:
        """Look for a listening socket (once it has one, no more); when to look next."""
        if self._probe is None or self._listened_at is not None:
            return math.inf
        self.listening = await self._probe()
        if self.listening:
            self._listened_at = trio.current_time()
            return math.inf
        return trio.current_time() + LISTEN_POLL_S

    async def wait_started(self) -> None:
        """Return once it listens (and its output paused), its output has been quiet for
        ``quiet_s``, or the cap has passed."""
        look_at = await self._look()
        while (at := self.settles_at()) > trio.current_time():
            with trio.move_on_at(min(at, look_at)):
                await self._fed.wait()  # more output (or a probe to look with) moves the moment on
            self._fed = trio.Event()
            if trio.current_time() >= look_at or look_at == math.inf:
                look_at = await self._look()

    def start_text(self) -> str:
        """The first output, and where it listens."""
        if not self.listening:
            return self.text
        where = ", ".join(self.listening)
        return f"{self.text.rstrip(chr(10))}\n(listening on {where})\n".lstrip("\n")


async def run_in_background(
    run: Callable[[Callable[[str], None], Callable[[Listening], None]], Awaitable[str]],
    progress: CallProgress,
    *,
    quiet_s: float = QUIET_S,
    cap_s: float = START_CAP_S,
) -> str:
    """Run a command that keeps running, and report its start through ``progress.started``.

    Args:
        run: runs the command to its end with the given live-output callback and returns the
            result text (exit status and the tail of the output); once the command has started
            it may hand the second callback a ``Listening`` probe of its processes.
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
        progress.started(watch.start_text())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(announce)
        result = await run(on_output, watch.watch_listening)
        nursery.cancel_scope.cancel()
    return result
