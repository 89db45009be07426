"""`asyncfc run` as scripts use it: the task read from stdin (`-`, or piped with no task),
`-c/--continue` for the latest session, and `/review`, `/init` or a custom command standing for
their task; run as a user runs them (a process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asyncfc_cli.cli.options import SessionFlags

SCENARIO = """
name: stdin-check
profile: instant
steps:
  - call: read_file
    as: src
    args: {path: hello.txt}
  - need: [src]
  - answer: "Read it."
"""


def asyncfc(*args: str, cwd: Path, stdin: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(cwd / ".state"),
           "XDG_CONFIG_HOME": str(cwd / ".config")}
    env.pop("ASYNCFC_MODEL", None)
    return subprocess.run([sys.executable, "-m", "asyncfc_cli", *args], cwd=cwd, env=env, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hello world\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    return tmp_path


def events(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def user_messages(result: subprocess.CompletedProcess) -> list[str]:
    return [e["text"] for e in events(result) if e["type"] == "user_message"]


@pytest.mark.parametrize("task", [["-"], []])
def test_the_task_is_read_from_stdin(repo: Path, task: list[str]) -> None:
    result = asyncfc("run", *task, "--model", str(repo / "scenario.yaml"), "--output", "jsonl",
                     cwd=repo, stdin="explain hello.txt\nin two lines\n")
    assert user_messages(result) == ["explain hello.txt\nin two lines"]


def test_an_empty_stdin_is_a_usage_error_in_words(repo: Path) -> None:
    dash = asyncfc("run", "-", "--model", str(repo / "scenario.yaml"), cwd=repo, stdin="  \n")
    assert dash.returncode == 2 and "the task read from stdin (-) is empty" in dash.stderr
    none = asyncfc("run", "--model", str(repo / "scenario.yaml"), cwd=repo, stdin=None)
    assert none.returncode == 2 and "give the task to run" in none.stderr


def test_continue_resumes_the_latest_session_with_a_new_task(repo: Path) -> None:
    model = ("--model", str(repo / "scenario.yaml"), "--output", "jsonl")
    first = events(asyncfc("run", "read it", *model, cwd=repo, stdin=None))
    second = events(asyncfc("run", "-c", "read it again", *model, cwd=repo, stdin=None))
    assert second[0]["type"] == "session_resumed"
    assert second[0]["session_id"] == first[0]["session_id"]
    assert [e["text"] for e in second if e["type"] == "user_message"] == ["read it again"]


def test_continue_and_a_named_session_together_are_refused(repo: Path) -> None:
    result = asyncfc("run", "--continue", "--resume", "abc123", "x", cwd=repo, stdin=None)
    assert result.returncode == 2 and "give --continue or --resume SESSION, not both" in result.stderr


def test_continue_means_the_latest_session() -> None:
    assert SessionFlags(continue_latest=True).resume_ref() == "last"
    assert SessionFlags(continue_latest=True, resume="last").resume_ref() == "last"  # `-c --resume`
    assert SessionFlags(resume="ab12").resume_ref() == "ab12"
    assert SessionFlags().resume_ref() is None


def test_a_command_line_stands_for_its_task_as_in_the_tui(repo: Path) -> None:
    (repo / ".asyncfc" / "commands").mkdir(parents=True)
    (repo / ".asyncfc" / "commands" / "explain.md").write_text("Explain $ARGUMENTS to a newcomer.\n")
    model = ("--model", str(repo / "scenario.yaml"), "--output", "jsonl")
    [review] = user_messages(asyncfc("run", "/review the parser", *model, cwd=repo, stdin=None))
    assert review.startswith("Review the uncommitted changes")
    assert review.endswith("The user asks you to focus on: the parser")
    assert user_messages(asyncfc("run", "/explain hello.txt", *model, cwd=repo, stdin=None)) == [
        "Explain hello.txt to a newcomer."]
    assert user_messages(asyncfc("run", "/etc/hosts looks wrong", *model, cwd=repo, stdin=None)) == [
        "/etc/hosts looks wrong"]
    status = asyncfc("run", "/status", *model, cwd=repo, stdin=None)
    assert status.returncode == 2 and "/status is a command of the TUI" in status.stderr
    assert "/explain" in status.stderr  # the commands it takes, custom ones too
