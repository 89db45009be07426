"""SIGTERM stops a headless run like Ctrl-C: the task is cancelled, its command's process group is
killed, ``session_finished`` is recorded, and the exit code is 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LONG, SERVER = f"300.{os.getpid()}", f"301.{os.getpid()}"
"""The seconds of the scenarios' sleeps: a command line no other test run on the machine has."""

SCENARIO = f"""\
name: long_command
profile: {{ttft_s: 0, tokens_per_s: 1000}}
steps:
  - call: shell
    as: long
    args: {{command: "touch started; sleep {LONG}"}}
  - need: [long]
  - answer: done
"""

pytestmark = pytest.mark.timeout(300)


def _command_alive(seconds: str = LONG) -> bool:
    """Whether the scenario's ``sleep SECONDS`` still runs anywhere on the machine. Found by its
    command line: inside the OS sandbox the shell's own ``$$`` is a pid of another PID namespace."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == f"sleep\0{seconds}\0".encode():
                return True
        except OSError:
            continue
    return False


def _wait_until(condition, limit_s: float = 90.0) -> bool:
    """Poll ``condition`` (another process is doing the work; there is no event to wait on).
    ``limit_s`` bounds a failure only: a loaded machine starts asyncfc and its command slowly."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def run_command_line(tmp_path: Path, scenario_text: str) -> tuple[Path, Path, list[str], dict[str, str]]:
    """An empty workspace, and the ``asyncfc run`` that plays ``scenario_text`` in it with its
    transcript at a known place: (workspace, transcript, argv, environment)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(scenario_text)
    transcript = tmp_path / "t.jsonl"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    argv = [sys.executable, "-m", "asyncfc_cli", "run", "wait for it", "--model", str(scenario),
            "--cwd", str(repo), "--transcript", str(transcript)]
    return repo, transcript, argv, env


def test_sigterm_cancels_cleanly_kills_the_command_and_records_the_end(tmp_path: Path):
    signum, exit_code = signal.SIGTERM, 143
    repo, transcript, argv, env = run_command_line(tmp_path, SCENARIO)
    process = subprocess.Popen(
        [*argv, "--output", "jsonl"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert _wait_until(lambda: (repo / "started").exists() and _command_alive()), "the command never started"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == exit_code, stderr[-2000:]
    finished = json.loads(stdout.splitlines()[-1])
    assert (finished["type"], finished["outcome"], finished["exit_code"]) == (
        "session_finished", "interrupted", exit_code)
    recorded = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert recorded[-1]["type"] == "session_finished" and recorded[-1]["exit_code"] == exit_code
    assert any(e["type"] == "future_finished" and e["status"] == "cancelled" for e in recorded)
    assert _wait_until(lambda: not _command_alive()), "the command's process outlived asyncfc"
    assert "Traceback" not in stderr
