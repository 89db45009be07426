"""Processes a command started that left its process group (``setsid``, daemons, double forks).

``killpg`` reaches only the command's own group. A child that called ``setsid`` is out of its
reach; while its parent lives it is still the leader's descendant in /proc, and once seen it is
remembered (pid and start time, so a reused pid is never signalled) even after it has been
reparented. ``track_descendants`` looks them up while the command runs; ``stop_descendants``
stops the ones still alive with the command. Without /proc (not Linux) nothing is tracked.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

import trio

__all__ = ["ProcEntry", "ProcessTree", "TRACK_INTERVAL_S", "proc_table", "stop_descendants",
           "track_descendants"]

TRACK_INTERVAL_S = 1.0
"""How often the descendants of a running command are looked up."""


class ProcEntry(NamedTuple):
    """One process as /proc/PID/stat tells it."""

    ppid: int
    pgrp: int
    started: bytes
    """Start time in clock ticks since boot: with the pid, it names one process for good."""
    state: bytes

    @property
    def live(self) -> bool:
        """Running or sleeping: not a zombie waiting to be reaped."""
        return self.state not in (b"Z", b"X")


def proc_table() -> dict[int, ProcEntry] | None:
    """Every process by pid, from /proc; None where there is no /proc."""
    table: dict[int, ProcEntry] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 19:
            table[int(name)] = ProcEntry(int(fields[1]), int(fields[2]), fields[19], fields[0])
    return table


class ProcessTree:
    """The descendants of a command's leader seen so far, in or out of its group."""

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self._known: dict[int, bytes] = {}

    def track(self) -> None:
        """Look up the descendants now (of the leader and of every one seen before)."""
        table = proc_table() or {}
        children = _children(table)
        stack = [self.leader, *self._known]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in self._known and child != self.leader:
                    self._known[child] = table[child].started
                    stack.append(child)

    def alive(self) -> list[int]:
        """Descendants seen that still run (same start time, not a zombie)."""
        table = proc_table() or {}
        return [pid for pid, started in self._known.items()
                if pid in table and table[pid].started == started and table[pid].live]

    def seen(self) -> dict[int, bytes]:
        """A copy of the descendants tracking has seen (pid -> start time): take it on the thread
        that tracks, for ``pids`` in another."""
        return dict(self._known)

    def pids(self, seen: Mapping[int, bytes] | None = None) -> list[int]:
        """The leader and its descendants alive now, from one look at /proc, with those in
        ``seen`` (``seen()``: reparented ones too, a server that double-forked) that still run. It
        changes nothing, so a worker thread may call it while the command is being tracked."""
        table = proc_table() or {}
        children = _children(table)
        roots = [self.leader, *(pid for pid, started in (seen or {}).items()
                                if pid in table and table[pid].started == started and table[pid].live)]
        found, stack = list(dict.fromkeys(roots)), list(roots)
        while stack:
            for child in children.get(stack.pop(), ()):
                if table[child].live and child not in found:
                    found.append(child)
                    stack.append(child)
        return found

    def signal(self, sig: int) -> None:
        for pid in self.alive():
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _children(table: dict[int, ProcEntry]) -> dict[int, list[int]]:
    """Each process's children, by pid."""
    children: dict[int, list[int]] = {}
    for pid, entry in table.items():
        children.setdefault(entry.ppid, []).append(pid)
    return children


async def track_descendants(tree: ProcessTree, wait: Callable[[], Awaitable[object]]) -> None:
    """Run ``wait()`` (the command's end) while looking up its descendants every interval."""
    async with trio.open_nursery() as nursery:

        async def look() -> None:
            while True:
                tree.track()
                await trio.sleep(TRACK_INTERVAL_S)

        nursery.start_soon(look)
        await wait()
        nursery.cancel_scope.cancel()


async def stop_descendants(tree: ProcessTree, grace: float) -> bool:
    """SIGTERM the descendants still alive, SIGKILL them after ``grace`` seconds; True if any was
    signalled. Shielded: it must finish even while the caller is being cancelled."""
    with trio.CancelScope(shield=True):
        tree.track()
        if not tree.alive():
            return False
        tree.signal(signal.SIGTERM)
        with trio.move_on_after(grace):
            while tree.alive():
                await trio.sleep(0.02)
            return True
        tree.signal(signal.SIGKILL)
        return True
