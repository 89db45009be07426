"""SIGTERM stops the TUI as it stops a headless run: the running task is cancelled, its command's
process group and the session's background processes are stopped, the transcript ends with
``session_finished``, and the exit code is 143. A real ``asyncfc run`` in a pseudo-terminal (a
terminal is what makes it open the TUI), signalled from outside as a service manager would."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

import pytest

from test_reliability_signals import LONG, SERVER, _command_alive as _alive, _wait_until, run_command_line

SCENARIO = f"""\
name: long_command_tui
profile: {{ttft_s: 0, tokens_per_s: 1000}}
steps:
  - call: shell
    as: server
    args: {{command: "sleep {SERVER}", background: true}}
  - need: [server]
  - call: shell
    as: long
    args: {{command: "touch started; sleep {LONG}"}}
  - need: [long]
  - answer: done
"""

pytestmark = pytest.mark.timeout(300)


def _drain(fd: int, screen: bytearray) -> None:
    """Read what the app draws (a terminal that is not read blocks the writer)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        screen.extend(chunk)


def test_sigterm_in_the_tui_cancels_cleanly_stops_every_process_and_records_the_end(tmp_path: Path):
    repo, transcript, argv, env = run_command_line(tmp_path, SCENARIO)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    screen = bytearray()
    process = subprocess.Popen(
        [*argv, "--approval", "auto"], env={**env, "TERM": "xterm-256color"}, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    reader = threading.Thread(target=_drain, args=(master, screen), daemon=True)
    reader.start()
    try:
        assert _wait_until(lambda: (repo / "started").exists() and _alive(LONG) and _alive(SERVER)), \
            "the commands never started: " + screen[-2000:].decode("utf-8", "replace")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        os.close(master)
    shown = screen.decode("utf-8", "replace")
    assert process.returncode == 143, shown[-3000:]
    recorded = [json.loads(line) for line in transcript.read_text().splitlines()]
    finished = [e for e in recorded if e["type"] == "session_finished"]
    assert finished and (finished[-1]["outcome"], finished[-1]["exit_code"]) == ("interrupted", 143)
    assert any(e["type"] == "future_finished" and e["status"] == "cancelled" for e in recorded)
    assert any(e["type"] == "background_stopped" for e in recorded)
    assert _wait_until(lambda: not _alive(LONG) and not _alive(SERVER)), \
        "a command's process outlived asyncfc"
    assert "Traceback" not in shown
