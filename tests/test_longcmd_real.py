"""Long commands with real processes: declared writes checked, a background server run and
stopped, live output of a slow command. The scripted model drives the real tools in a throwaway
repository."""

import os
import socket
import sys

import pytest

from asyncfc_cli.config import Settings
from asyncfc_cli.testing.harness import run_scenario
from asyncfc_tools import builtin_tools
from tools_repo import make_repo

INSTANT = {"ttft_s": 0, "tokens_per_s": 1000}
PY = sys.executable


def scenario(*steps, answer="done"):
    return {"name": "t", "profile": INSTANT, "steps": [*steps, {"answer": answer, "tokens": 0}]}


def shell(label, command, **args):
    return {"call": "shell", "as": label, "args": {"command": command, **args}, "tokens": 0}


async def play(tmp_path, *steps):
    root = make_repo(tmp_path / "repo", {"src/app.py": "print('hi')\n"})
    return await run_scenario(scenario(*steps), tools=builtin_tools(), root=root,
                              settings=Settings(approval="auto"))


async def with_server(tmp_path, port: int, *steps, setsid: bool = False):
    """Play a scenario whose first response starts an HTTP server on ``port`` in the background."""
    prefix = "setsid " if setsid else ""
    start = shell("srv", f"{prefix}{PY} -m http.server {port} --bind 127.0.0.1", background=True)
    return await play(tmp_path, start, "end", *steps)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def processes_mentioning(text: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if text.encode() in handle.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


@pytest.mark.trio
async def test_a_declared_command_that_writes_outside_its_declaration_is_told_so(tmp_path):
    run = await play(tmp_path, shell("b", "mkdir -p build && touch build/app.o notes.txt src/app.py",
                                     writes=["build/"]), {"need": ["b"]})
    result = run.future("f1", "future_finished").output
    assert "changed files outside its declared writes (build/)" in result
    assert "notes.txt" in result and "src/app.py" in result and "build/app.o" not in result
    violation = run.future("f1", "footprint_violation")
    assert violation.declared == ("build/",) and violation.paths == ("notes.txt", "src/app.py")


@pytest.mark.trio
async def test_a_declared_command_that_keeps_to_its_globs_gets_no_warning(tmp_path):
    run = await play(tmp_path, shell("g", "mkdir -p gen && touch gen/a_pb2.py", writes=["gen/*_pb2.py"]),
                     {"need": ["g"]})
    assert "outside" not in run.future("f1", "future_finished").output
    assert not run.of_type("footprint_violation")


@pytest.mark.slow
@pytest.mark.trio
async def test_a_background_server_runs_while_the_task_finishes_and_is_stopped_at_its_end(tmp_path):
    port = free_port()
    fetch = f"{PY} -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/').status)\""
    run = await with_server(tmp_path, port, {"need": ["srv"]}, shell("get", fetch), {"need": ["get"]})
    assert run.outcome.exit_code == 0
    assert "Serving HTTP on 127.0.0.1 port" in run.future("f1", "background_started").output
    assert run.future("f2", "future_finished").output.endswith("stdout:\n200")
    assert run.future("f1", "background_stopped").reason == "the task ended"
    assert run.future("f1", "future_finished").status == "cancelled"
    assert not accepts(port)
    assert processes_mentioning(f"http.server {port}") == []


@pytest.mark.slow
@pytest.mark.trio
async def test_cancel_future_stops_a_background_server_before_the_end(tmp_path):
    port = free_port()
    probe = f"{PY} -c \"import socket; print(socket.socket().connect_ex(('127.0.0.1', {port})) != 0)\""
    run = await with_server(
        tmp_path, port,
        {"call": "cancel_future", "as": "stop", "args": {"ids": ["f1"]}, "tokens": 0},
        {"call": "await_future", "as": "gone", "args": {"ids": ["f1"], "timeout_s": 10}, "tokens": 0},
        "end", shell("probe", probe), {"need": ["probe"]},
        setsid=True,
    )
    assert run.future("f1", "future_finished").status == "cancelled"
    assert run.future("f3", "future_finished").output.startswith('<future id="f1" status="cancelled">')
    assert run.future("f4", "future_finished").output.endswith("stdout:\nTrue")  # refused
    assert not run.of_type("background_stopped")
    assert processes_mentioning(f"http.server {port}") == []


@pytest.mark.slow
@pytest.mark.trio
async def test_a_slow_command_streams_its_output_and_await_shows_its_latest_lines(tmp_path):
    # Two lines at once, the rest well after the peek: what it sees does not hang on how fast a
    # loaded machine starts the command (up to the peek's 2 s), nor on the peek's own lateness (3 s).
    ticker = "echo line 1; echo line 2; sleep 5; for i in 3 4 5 6 7 8; do echo line $i; sleep 0.2; done"
    run = await play(
        tmp_path,
        shell("tick", ticker),
        {"call": "await_future", "as": "peek", "args": {"ids": ["f1"], "timeout_s": 2}, "tokens": 0},
        "end",
        {"need": ["tick"]},
    )
    finished = run.future("f1", "future_finished")
    outputs = [e for e in run.of_type("future_output") if e.id == "f1"]
    assert len(outputs) >= 3 and all(e.t <= finished.t for e in outputs)
    assert "".join(e.text for e in outputs) == "".join(f"line {i}\n" for i in range(1, 9))
    peek = run.future("f2", "future_finished").output
    assert peek.startswith('{"future": "f1", "status": "running"}\nlatest output of f1 (still running):\nline 1')
    assert "line 2" in peek and "line 8" not in peek


@pytest.mark.trio
async def test_a_declaration_reaching_outside_the_workspace_is_refused(tmp_path):
    run = await play(tmp_path, shell("x", "true", writes=["../elsewhere"]), {"need": ["x"]})
    finished = run.future("f1", "future_finished")
    assert finished.status == "failed" and "outside the workspace" in finished.output
