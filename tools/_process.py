"""Run a command as its own process group on trio, with bounded capture and a clean kill.

A command runs in a new session (``start_new_session``), so it and every child it starts share one
process group; cancellation, a timeout, or the command exiting while children still run all end
with the whole group signalled: SIGTERM, a grace period, then SIGKILL. Children that left the group
(``setsid``, daemons) are stopped with it: those seen as its descendants while it ran
(``_process_tree``), and those found by the mark every process of the command carries in its
environment, even when they were reparented before anyone looked (``_tracking``). The pipes are
then waited for only a grace period, so a process that escaped both cannot hold the call open.
While it runs the command is listed with this process's watchdog (``_lifeline``), which stops it
if the agent dies without doing so itself (SIGKILL).
Output is read incrementally into head/tail buffers, so memory stays bounded however much the
command prints; ``on_output`` sees it live.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from ._env import NON_INTERACTIVE, command_environment
from ._lifeline import cross_off, list_command, start_watchdog
from ._process_tree import ProcessTree, proc_table, stop_descendants, track_descendants
from ._text import HeadTail
from ._tracking import marked_environment, new_mark, stop_marked

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["CommandResult", "run_command", "KILL_GRACE_S"]

KILL_GRACE_S = 2.0
"""Seconds a process group gets between SIGTERM and SIGKILL."""
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a finished (or stopped) command produced."""

    exit_code: int | None
    """The command's exit status (negative: killed by that signal); None if it never exited."""
    stdout: str
    """Captured standard output, head and tail kept within the cap, with a note of what was cut."""
    stderr: str
    """Captured standard error, capped the same way."""
    duration: float
    """Seconds from start to end."""
    timed_out: bool = False
    """True if the timeout ended it."""
    stopped_children: bool = False
    """True if processes the command left running in its group had to be killed."""
    output_held: bool = False
    """True if, after the command and its processes were gone, something still held its output
    open and the reading stopped there (a process that escaped tracking)."""


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False if no process of the group is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # A zombie leader can make killpg report EPERM on some systems: treat the group as gone.
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the group remains.

    killpg(pgid, 0) alone is not enough: killed children whose parent died stay zombies until
    init reaps them, and they still count as group members.
    """
    if not _signal_group(pgid, 0):
        return False
    table = proc_table()
    if table is None:
        return True
    return any(entry.pgrp == pgid and entry.live for entry in table.values())


async def _wait_group_gone(pgid: int) -> None:
    while _group_alive(pgid):
        await trio.sleep(0.02)


SANDBOX_SETTLE_S = 0.25
"""Longest wait for a sandbox's PID 1 to follow its command out (see _wait_sandbox_init_gone)."""


async def _wait_sandbox_init_gone(pgid: int) -> None:
    """bwrap reports the command's exit before its PID 1 (the namespace's reaper, in the command's
    group) has exited: give it a moment, so that it is not taken for a process the command left
    behind. A reaper with real children left stays, and they are stopped with the group."""
    with trio.move_on_after(SANDBOX_SETTLE_S):
        await _wait_group_gone(pgid)


async def _kill_group(pgid: int, process: trio.Process, grace: float) -> bool:
    """SIGTERM the group, wait ``grace`` seconds, then SIGKILL it. True if anything was signalled.

    Shielded: it must finish even while the caller is being cancelled.
    """
    with trio.CancelScope(shield=True):
        if not _group_alive(pgid) or not _signal_group(pgid, signal.SIGTERM):
            return False
        with trio.move_on_after(grace):
            await process.wait()
            await _wait_group_gone(pgid)
        if _signal_group(pgid, signal.SIGKILL):
            with trio.move_on_after(grace):
                await process.wait()
                await _wait_group_gone(pgid)
        return True


def _output_decoder(on_output: Callable[[str], None] | None) -> Callable[[bytes], None]:
    """Feeds ``on_output`` the text of each chunk (UTF-8, a character split between chunks kept
    for the next one); a no-op without ``on_output``."""
    if on_output is None:
        return lambda chunk: None
    decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(chunk: bytes) -> None:
        if text := decoder.decode(chunk):
            on_output(text)

    return feed


async def _drain(stream: trio.abc.ReceiveStream | None, sink: HeadTail, live: Callable[[bytes], None]) -> None:
    if stream is None:
        return
    async with stream:
        while chunk := await stream.receive_some(_CHUNK):
            sink.feed(chunk)
            live(chunk)


async def _start(command: str | Sequence[str], cwd: Path, env: Mapping[str, str],
                 sandbox: Sandbox | None = None, writable: Sequence[Path] | None = None,
                 network: bool = False) -> trio.Process:
    """Start ``command`` as the leader of a new session (so of its own process group), with no
    stdin and no controlling terminal; inside ``sandbox`` when one is given (it decides whether it
    confines). The cleaned environment goes to the sandbox itself too: inside, bwrap is PID 1."""
    owned: tuple[int, ...] = ()
    if sandbox is not None:
        launch = sandbox.launch(command, cwd=cwd, writable=writable, network=network)
        command, pass_fds, owned = launch.command, launch.pass_fds, launch.owned
    else:
        command, pass_fds = (command if isinstance(command, str) else list(command)), ()
    try:
        return await trio.lowlevel.open_process(
            command,
            shell=isinstance(command, str),
            cwd=os.fspath(cwd),
            env={**env, **NON_INTERACTIVE},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    finally:
        for fd in owned:  # the started bwrap holds its own copies
            os.close(fd)


async def run_command(
    command: str | Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    max_bytes: int,
    env: Mapping[str, str] | None = None,
    grace_s: float = KILL_GRACE_S,
    sandbox: Sandbox | None = None,
    writable: Sequence[Path] | None = None,
    on_output: Callable[[str], None] | None = None,
    network: bool = False,
    on_start: Callable[[ProcessTree], None] | None = None,
) -> CommandResult:
    """Run ``command`` (a shell string, or an argv list run without a shell) in ``cwd``.

    Args:
        timeout_s: after this many seconds the whole process group is killed.
        max_bytes: bytes kept of each of stdout and stderr (head and tail).
        env: the child's environment; None means os.environ minus provider keys.
        grace_s: seconds between SIGTERM and SIGKILL.
        sandbox: the session's OS sandbox (``_sandbox.open_sandbox``); None runs unconfined.
        writable: the only paths the command may change (resolved, inside the workspace; some may
            not exist yet), besides the toolchain caches and its private /tmp; None: the whole
            workspace. A confining sandbox enforces this; otherwise the caller checks what
            changed afterwards.
        on_output: called on trio's thread with the text of stdout and stderr as it arrives.
        network: the user allowed this command the network: a confining sandbox runs it on the
            host's network instead of the session's loopback-only one.
        on_start: called once the command has started, with its process tree (to look at what
            its processes do, e.g. which ports they listen on).

    Cancelling the caller kills the process group before the cancellation propagates.

    Raises:
        OSError: the command could not be started (e.g. the program does not exist).
        SandboxRefused: the sandbox is required and cannot run here.
    """
    out, err = HeadTail(max_bytes), HeadTail(max_bytes)
    await start_watchdog()
    start = trio.current_time()
    mark = new_mark()
    env = marked_environment(command_environment(env), mark)
    process = await _start(command, cwd, env, sandbox, writable, network)
    pgid = process.pid
    list_command(pgid, mark)
    tree = ProcessTree(pgid)
    if on_start is not None:
        on_start(tree)
    live = _output_decoder(on_output)
    timed_out = stopped = ended = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_drain, process.stdout, out, live)
            nursery.start_soon(_drain, process.stderr, err, live)
            with trio.move_on_after(timeout_s) as scope:
                await track_descendants(tree, process.wait)
            timed_out = scope.cancelled_caught
            if sandbox is not None and sandbox.confines and not timed_out:
                await _wait_sandbox_init_gone(pgid)
            # Children left running would hold the pipes open (and outlive us): end the group.
            # The group first: its leader gets SIGTERM (and can run its own clean-up) before the
            # processes that left the group are stopped.
            stopped = await _kill_group(pgid, process, grace_s)
            stopped = await stop_descendants(tree, grace_s) or stopped
            stopped = await stop_marked(mark, grace_s) or stopped
            ended = True
            nursery.cancel_scope.deadline = trio.current_time() + grace_s  # bounded wait for the pipes
        held = nursery.cancel_scope.cancelled_caught
    finally:
        if not ended:  # cancelled or failed before the clean-up above (each step scans /proc)
            await _kill_group(pgid, process, grace_s)
            await stop_descendants(tree, grace_s)
            await stop_marked(mark, grace_s)
        cross_off(pgid)
    return CommandResult(
        exit_code=process.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=trio.current_time() - start,
        timed_out=timed_out,
        stopped_children=stopped and not timed_out,
        output_held=held,
    )
