"""The command line as a user (or a CI job) meets it: subprocesses, exit codes, JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("litellm", "textual", "tree_sitter")


def asyncfc(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_STATE_HOME": str(cwd / ".state"),
                "XDG_CONFIG_HOME": str(cwd / ".config"), **(env or {})}
    full_env.pop("ASYNCFC_MODEL", None)
    return subprocess.run(
        [sys.executable, "-m", "asyncfc_cli", *args], cwd=cwd, env=full_env, capture_output=True,
        text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def test_help_imports_no_litellm_textual_or_tree_sitter():
    code = (
        "import sys\n"
        "sys.argv = ['asyncfc', '--help']\n"
        "from asyncfc_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "Usage" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []"


SCENARIO = """
name: cli-check
profile: instant
steps:
  - say: "Reading and checking."
  - call: read_file
    as: src
    args: {path: hello.txt}
  - call: shell
    as: check
    args: {command: "echo checked"}
  - need: [src, check]
  - answer: "All good."
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hello world\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    return tmp_path


def test_run_headless_jsonl_prints_one_event_per_line_and_exits_0(repo: Path):
    result = asyncfc("run", "check hello", "--model", str(repo / "scenario.yaml"), "--output", "jsonl",
                     "--transcript", str(repo / "t.jsonl"), cwd=repo)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "session_started" and types[-1] == "session_finished"
    assert all(isinstance(e["t"], (int, float)) for e in events)
    for needed in ("request_started", "first_token", "text_delta", "tool_call_parsed", "future_created",
                   "future_started", "future_finished", "request_finished"):
        assert needed in types
    finished = {e["id"]: e for e in events if e["type"] == "future_finished"}
    assert "hello world" in finished["f1"]["output"]
    assert "checked" in finished["f2"]["output"]
    assert events[-1]["exit_code"] == 0 and events[-1]["outcome"] == "finished"
    assert events[0]["scripted"] is True
    # The transcript holds the same stream.
    transcript = [json.loads(line) for line in (repo / "t.jsonl").read_text().splitlines()]
    assert [e["type"] for e in transcript] == types


def test_run_text_output_says_the_model_is_scripted(repo: Path):
    result = asyncfc("run", "check hello", "--model", str(repo / "scenario.yaml"), "--mode", "sync", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "scripted model" in result.stdout
    assert "f1" in result.stdout and "read_file" in result.stdout
    assert "finished (exit 0)" in result.stdout


def test_no_model_is_a_usage_error_that_says_how_to_set_one(repo: Path):
    result = asyncfc("run", "do it", cwd=repo)
    assert result.returncode == 2
    assert "--model" in result.stderr and "ASYNCFC_MODEL" in result.stderr


def test_unknown_scenario_and_bad_flags_exit_2(repo: Path):
    assert asyncfc("run", "x", "--model", "scripted:nope", cwd=repo).returncode == 2
    assert asyncfc("run", "x", "--model", "scripted:demo", "--mode", "sideways", cwd=repo).returncode == 2


def test_turn_limit_exits_1(repo: Path):
    result = asyncfc("run", "check", "--model", str(repo / "scenario.yaml"), "--max-turns", "1", cwd=repo)
    assert result.returncode == 1
    assert "--max-turns" in result.stdout


@pytest.mark.slow
def test_demo_plays_live_and_compares(tmp_path: Path):
    result = asyncfc("demo", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SCRIPTED model" in out
    assert "+ f1 read_file" in out and "shell" in out
    assert "sync  wall time" in out and "speedup" in out


@pytest.mark.parametrize("args", [["--model", "scripted:nope"], ["chat", "--model", "scripted:nope"],
                                  ["chat", "--model", "scripted:nope", "--dispatch", "end"]])
def test_tui_entry_points_report_configuration_errors_before_opening(repo: Path, args: list[str]):
    result = asyncfc(*args, cwd=repo)
    assert result.returncode == 2
    assert "no scenario 'nope'" in result.stderr
