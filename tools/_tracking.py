"""Every process a command started, found again even after it left the command's process group.

``killpg`` reaches the command's group only. A daemon leaves it (``setsid``, a double fork) and
is reparented away from the command, so neither the group nor the parent links lead to it any
more; it keeps the command's stdout open (the call then waits for the pipe until the call
timeout) and outlives the session. What it cannot leave behind is its environment: each command
runs with a mark of its own in it (``marked_environment``), and ``marked_processes`` finds every
live process carrying that mark by reading /proc, plus, through parent links, the children of
those processes that replaced their environment (``env -i``). ``stop_marked`` ends them all:
SIGTERM, a grace period, SIGKILL.

The mark tells apart the processes of commands that run at the same time, which a subreaper
(reparenting every orphan of the agent to the agent) would not: it would also collect the
orphans of git and every other child, and leave them as zombies nobody waits for. Limits: a
process that drops the mark from its environment and whose parent is gone cannot be found (the
caller bounds its wait for the pipes instead); without /proc nothing is found.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Mapping

import trio

from ._process_tree import proc_table

__all__ = ["MARK_VARIABLE", "marked_environment", "marked_processes", "new_mark", "stop_marked"]

MARK_VARIABLE = "ASYNCFC_COMMAND"
"""The environment variable that carries a command's mark into every process it starts."""
_POLL_S = 0.05


def new_mark() -> str:
    """A fresh mark for one command: unguessable, so a command cannot forge another's."""
    return secrets.token_hex(12)


def marked_environment(env: Mapping[str, str], mark: str) -> dict[str, str]:
    """``env`` with the command's mark added."""
    return {**env, MARK_VARIABLE: mark}


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return needle in b"\0" + handle.read()
    except OSError:  # gone, or not ours to read
        return False


def marked_processes(mark: str) -> list[int]:
    """Live processes carrying ``mark`` and their live descendants, sorted."""
    needle = b"\0" + f"{MARK_VARIABLE}={mark}".encode() + b"\0"
    table = proc_table() or {}
    own = os.getpid()
    found = {pid for pid, entry in table.items() if entry.live and pid != own and _carries(pid, needle)}
    children: dict[int, list[int]] = {}
    for pid, entry in table.items():
        if entry.live:
            children.setdefault(entry.ppid, []).append(pid)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found and child != own:
                found.add(child)
                stack.append(child)
    return sorted(found)


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


async def _wait_unmarked(mark: str) -> None:
    while marked_processes(mark):
        await trio.sleep(_POLL_S)


async def stop_marked(mark: str, grace: float) -> bool:
    """SIGTERM every process carrying ``mark``, wait up to ``grace`` seconds, SIGKILL what is
    left. True if anything was signalled. Shielded: it must finish while its caller is cancelled.
    """
    with trio.CancelScope(shield=True):
        pids = marked_processes(mark)
        if not pids:
            return False
        _signal(pids, signal.SIGTERM)
        with trio.move_on_after(grace):
            await _wait_unmarked(mark)
            return True
        _signal(marked_processes(mark), signal.SIGKILL)
        with trio.move_on_after(grace):
            await _wait_unmarked(mark)
        return True
