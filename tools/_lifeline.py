"""Commands die with the agent, even when it is SIGKILLed.

A killed agent runs no clean-up: its commands, background servers included, would keep running.
Neither a process group (nobody is left to signal it) nor PR_SET_PDEATHSIG helps on its own:
pdeathsig reaches only the direct child (``/bin/sh``, not what it started) and fires when the
*thread* that forked it ends, and trio starts processes from worker threads that come and go (so
does bubblewrap's ``--die-with-parent``, which rests on it). So one small watchdog process per
agent (``_watchdog``) holds the read end of a pipe only the agent can write: the agent lists each
command's process group and mark there while it runs, and when the pipe ends, which the kernel
guarantees however the agent dies, the watchdog stops what is still listed. While the agent lives
the watchdog does nothing; ``run_command`` stops commands itself and crosses them off.

Trust boundary: agent side. The write end is not inherited by any command (descriptors are
close-on-exec and ``subprocess`` closes the rest), so no command can keep the watchdog waiting.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import trio

from ._env import child_environment

__all__ = ["cross_off", "list_command", "start_watchdog"]

_SCRIPT = Path(__file__).with_name("_watchdog.py")


class _Watchdog:
    """The one watchdog of this process and the commands listed with it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.pipe: int | None = None
        self.running: dict[int, str] = {}
        """Process group -> mark of each command listed and not crossed off: told again to a new
        watchdog if the first one is gone."""

    def ensure(self) -> None:
        """Start the watchdog unless one runs (blocking: it forks and executes Python)."""
        with self.lock:
            if self.process is not None and self.process.poll() is None and self.pipe is not None:
                return
            self._close()
            read, write = os.pipe()  # both ends close-on-exec: no command inherits the write end
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-S", os.fspath(_SCRIPT)], stdin=read, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, cwd="/", env=child_environment(), start_new_session=True)
            except OSError:
                os.close(write)
                return  # commands still run; only a SIGKILLed agent would leave them behind
            finally:
                os.close(read)
            self.pipe = write
            for pgid, mark in self.running.items():
                self._say(f"+ {pgid} {mark}\n")

    def tell(self, line: str, pgid: int, mark: str | None) -> None:
        with self.lock:
            if mark is None:
                self.running.pop(pgid, None)
            else:
                self.running[pgid] = mark
            self._say(line)

    def _say(self, line: str) -> None:
        if self.pipe is None:
            return
        try:
            os.write(self.pipe, line.encode())  # a short line: one atomic write to a pipe
        except OSError:  # the watchdog is gone: the next ensure() starts another
            self._close()

    def _close(self) -> None:
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None
        if self.process is not None:
            self.process.poll()  # reap it if it ended
            self.process = None


_WATCHDOG = _Watchdog()


async def start_watchdog() -> None:
    """Make sure this process's watchdog runs (once per process; started in a worker thread)."""
    watchdog = _WATCHDOG
    if watchdog.pipe is None or (watchdog.process is not None and watchdog.process.poll() is not None):
        await trio.to_thread.run_sync(watchdog.ensure)


def list_command(pgid: int, mark: str) -> None:
    """List a started command (its process group and mark): stopped if the agent dies."""
    _WATCHDOG.tell(f"+ {pgid} {mark}\n", pgid, mark)


def cross_off(pgid: int) -> None:
    """Cross a command off once it has been stopped (its group may be reused later)."""
    _WATCHDOG.tell(f"- {pgid}\n", pgid, None)
