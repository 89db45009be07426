"""The watchdog that stops a session's commands when the agent dies, however it dies.

Run as a script of its own (``python -I -S _watchdog.py``, the standard library only), started by
``_lifeline``. Its stdin is a pipe whose only write end the agent holds. The agent writes one line
per command it starts, ``+ PGID MARK``, and ``- PGID`` once it has stopped it itself. When the
pipe reaches its end the agent is gone: it exited, crashed or was SIGKILLed (the kernel closes a
dead process's descriptors in every case). Then every command still listed is stopped: its
process group, and every process carrying its mark in its environment (``_tracking``: the ones
that left the group with ``setsid``), get SIGTERM, after a grace period SIGKILL, and the watchdog
exits. A sandboxed command's group holds the sandbox's PID 1, so the kernel ends the rest of its
PID namespace with it.

Trust boundary: agent side. It reads only the agent's pipe, and holds no keys (it is started with
the commands' cleaned environment).
"""

from __future__ import annotations

import os
import signal
import sys
import time

MARK_VARIABLE = "ASYNCFC_COMMAND"
"""The variable that carries a command's mark (``_tracking.MARK_VARIABLE``; a test keeps them one)."""
GRACE_S = 2.0
"""Seconds between SIGTERM and SIGKILL, as for a command stopped while the agent lives."""
_POLL_S = 0.05


def read_commands(lines: object) -> dict[int, bytes]:
    """The commands still running when ``lines`` (the agent's pipe) ends: process group -> mark."""
    running: dict[int, bytes] = {}
    for line in lines:  # type: ignore[attr-defined]
        words = line.split()
        if len(words) == 3 and words[0] == b"+" and words[1].isdigit():
            running[int(words[1])] = words[2]
        elif len(words) == 2 and words[0] == b"-" and words[1].isdigit():
            running.pop(int(words[1]), None)
    return running


def marked(marks: list[bytes]) -> list[int]:
    """The processes (but this one) whose environment carries one of ``marks``."""
    needles = [b"\0" + MARK_VARIABLE.encode() + b"=" + mark + b"\0" for mark in marks]
    found: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc (not Linux): the process groups are all it can reach
        return found
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                environ = b"\0" + handle.read()
        except OSError:
            continue
        if any(needle in environ for needle in needles):
            found.append(int(name))
    return found


def signal_all(groups: set[int], marks: list[bytes], sig: int) -> bool:
    """Send ``sig`` to every group in ``groups`` and every process marked with one of ``marks``;
    whether any was there. A group found gone leaves ``groups``: once its last process has ended
    its number is free, and a later signal could reach an unrelated group that took it."""
    hit = False
    for pgid in list(groups):
        try:
            os.killpg(pgid, sig)
            hit = True
        except ProcessLookupError:
            groups.discard(pgid)
        except OSError:
            pass
    for pid in marked(marks):
        try:
            os.kill(pid, sig)
            hit = True
        except OSError:
            pass
    return hit


def stop(running: dict[int, bytes]) -> None:
    """SIGTERM, up to ``GRACE_S`` for them to go, then SIGKILL to what is left."""
    groups, marks = set(running), list(running.values())
    if not running or not signal_all(groups, marks, signal.SIGTERM):
        return
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and signal_all(groups, marks, 0):
        time.sleep(_POLL_S)
    signal_all(groups, marks, signal.SIGKILL)


def main() -> None:
    stop(read_commands(sys.stdin.buffer))


if __name__ == "__main__":
    main()
