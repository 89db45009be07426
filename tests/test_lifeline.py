"""Commands die with the agent: a real agent process running a background shell command (with a
child in its group and one that left it with setsid) is SIGKILLed, and every process of the
command goes, with the sandbox on and off."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncfc_tools import _tracking, _watchdog
from asyncfc_tools._sandbox import probe
from test_reliability_signals import _wait_until

SUPPORT = probe()
TESTS = Path(__file__).parent

AGENT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import trio

    from asyncfc_tools._sandbox import open_sandbox
    from asyncfc_tools.shell import shell
    from tools_repo import context

    async def main():
        root, mode, command = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
        ctx = context(root, sandbox=open_sandbox(root, mode=mode), shell_timeout_s=600.0)
        await shell.fn(ctx, command, background=True)

    trio.run(main)
""")


def _running(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ")
            with open(f"/proc/{name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state not in (b"Z", b"X") and b"python" not in cmdline:
            found.append(int(name))
    return found


@pytest.mark.parametrize("mode", ["on", "off"])
def test_a_sigkilled_agent_takes_its_commands_with_it(tmp_path, mode):
    if mode == "on" and not SUPPORT.works:
        pytest.skip(f"bubblewrap cannot run here: {SUPPORT.problem}")
    seconds = [str(800_000 + secrets.randbelow(100_000) * 3 + i) for i in range(3)]
    command = f"sleep {seconds[0]} & setsid sleep {seconds[1]} & sleep {seconds[2]}"
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    root = tmp_path / "ws"
    root.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    agent = subprocess.Popen([sys.executable, str(script), str(root), mode, command], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started = _wait_until(lambda: all(_running(f"sleep {s}") for s in seconds) or agent.poll() is not None, 180.0)
        assert started and agent.poll() is None, agent.stderr.read().decode() if agent.poll() is not None else ""
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        assert _wait_until(lambda: not any(_running(f"sleep {s}") for s in seconds), 120.0), "left running"
    finally:
        agent.kill()
        agent.wait()
        for pid in (pid for s in seconds for pid in _running(f"sleep {s}")):
            os.kill(pid, signal.SIGKILL)


def test_the_watchdog_stops_only_what_is_still_listed_when_the_pipe_ends():
    lines = [b"+ 10 aa\n", b"+ 11 bb\n", b"- 10\n", b"garbage\n", b"+ x cc\n", b"+ 12 dd\n"]
    assert _watchdog.read_commands(lines) == {11: b"bb", 12: b"dd"}
    assert _watchdog.MARK_VARIABLE == _tracking.MARK_VARIABLE


def test_a_watchdog_that_died_is_replaced_and_told_what_still_runs():
    """Killed on its own (the agent lives on), the watchdog is started again before the next
    command, and hears of the commands listed with the first one."""
    import trio

    from asyncfc_tools import _lifeline

    watchdog = _lifeline._WATCHDOG
    trio.run(_lifeline.start_watchdog)
    first = watchdog.process
    assert first is not None and first.poll() is None
    _lifeline.list_command(999_999_991, "aa")
    first.kill()
    first.wait()
    _lifeline.list_command(999_999_992, "bb")  # the pipe is broken: noticed here
    trio.run(_lifeline.start_watchdog)
    second = watchdog.process
    assert second is not None and second is not first and second.poll() is None
    assert watchdog.running == {999_999_991: "aa", 999_999_992: "bb"}
    _lifeline.cross_off(999_999_991)
    _lifeline.cross_off(999_999_992)
    assert watchdog.running == {}


def test_the_watchdog_signals_no_group_again_once_it_is_gone(monkeypatch):
    """PID reuse: a group that ended at SIGTERM frees its number; the SIGKILL after the grace
    period must not reach whatever group took it since. A group still there gets it."""
    sent: list[tuple[int, int]] = []
    alive = {40, 41}

    def killpg(pgid: int, sig: int) -> None:
        if pgid not in alive:
            alive.add(pgid)  # seen gone; its number is taken again at once
            raise ProcessLookupError(pgid)
        sent.append((pgid, sig))
        if pgid == 40 and sig == signal.SIGTERM:
            alive.discard(40)  # it ends on SIGTERM

    clock = iter([0.0, 0.0, 10.0])  # the start, one look within the grace period, past it
    monkeypatch.setattr(_watchdog.os, "killpg", killpg)
    monkeypatch.setattr(_watchdog, "marked", lambda marks: [])
    monkeypatch.setattr(_watchdog, "time", type("Clock", (), {"monotonic": lambda: next(clock),
                                                             "sleep": lambda seconds: None}))
    _watchdog.stop({40: b"aa", 41: b"bb"})
    assert (40, signal.SIGKILL) not in sent and (41, signal.SIGKILL) in sent, sent
