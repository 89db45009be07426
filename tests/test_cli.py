"""The command line as a user (or a CI job) meets it: subprocesses, exit codes, JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

HEAVY = ("litellm", "textual", "tree_sitter")


def asyncfc(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
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


# -- What a new user reaches for in the first minutes: --version and -h, help that shows choices
# and no value type for on/off flags, errors printed once and in order, sessions addressed by id,
# a resume that remembers its model, the scripted demo refusing someone else's repository, and the
# local test servers started from the command line.

def test_version_and_short_help(tmp_path: Path):
    from asyncfc_cli import __version__

    assert asyncfc("--version", cwd=tmp_path).stdout.strip() == f"asyncfc {__version__}"
    for args in (["-h"], ["run", "-h"], ["bench", "-h"], ["replay", "-h"]):
        result = asyncfc(*args, cwd=tmp_path, env={"COLUMNS": "120"})
        assert result.returncode == 0 and "Usage: asyncfc" in result.stdout, (args, result.stderr)


def test_help_shows_choices_and_no_value_type_for_flags(tmp_path: Path):
    run_help = asyncfc("run", "-h", cwd=tmp_path, env={"COLUMNS": "120"}).stdout
    bench_help = asyncfc("bench", "-h", cwd=tmp_path, env={"COLUMNS": "120"}).stdout
    assert "<bool>" not in run_help + bench_help
    assert "<virtual|real|http>" in bench_help and "<simulated|real>" in bench_help
    assert "--headless" in run_help


def test_the_no_model_error_prints_once_reason_before_verdict_when_piped(repo: Path):
    piped = subprocess.run(f"{sys.executable} -m asyncfc_cli run 'do it' 2>&1 | cat", shell=True, cwd=repo,
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(repo),
                                                                "XDG_STATE_HOME": str(repo / ".state")})
    lines = piped.stdout.splitlines()
    assert sum("no model configured" in line for line in lines) == 1, piped.stdout
    reason = next(i for i, line in enumerate(lines) if "no model configured" in line)
    verdict = next(i for i, line in enumerate(lines) if "config_error (exit 2)" in line)
    assert reason < verdict


def test_replay_by_id_writes_plain_text_without_a_terminal(repo: Path):
    assert asyncfc("run", "check hello", "--model", str(repo / "scenario.yaml"), cwd=repo).returncode == 0
    listed = asyncfc("sessions", cwd=repo).stdout.splitlines()
    session_id = listed[1].split()[0]
    for ref in (session_id, session_id[:6], "last"):
        result = asyncfc("replay", ref, cwd=repo)
        assert result.returncode == 0, result.stderr
        assert "finished (exit 0)" in result.stdout and "\033[" not in result.stdout
    missing = asyncfc("replay", "nosuchid", cwd=repo)
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("asyncfc: replay nosuchid: no session of this repository has that "
                                      "id; `asyncfc sessions` lists them")
    assert "no such transcript file" in asyncfc("replay", "./gone.jsonl", cwd=repo).stderr


def test_resume_restores_the_sessions_model(tmp_path: Path):
    from asyncfc_cli.demo import make_demo_repo

    demo = make_demo_repo(tmp_path / "stats")
    first = asyncfc("run", "fix it", "--model", "scripted:demo", "--profile", "instant", "--max-turns", "1",
                    cwd=demo)
    assert first.returncode == 1, first.stderr
    result = asyncfc("run", "--resume", "--output", "jsonl", "--max-turns", "1", "go on", cwd=demo)
    assert result.returncode == 1, result.stderr  # it ran (the turn limit), not a usage error
    started = json.loads(result.stdout.splitlines()[0])
    assert started["type"] == "session_resumed" and started["model"] == "scripted:demo"


def test_resume_restores_the_endpoint_only_from_the_users_own_transcripts(tmp_path: Path):
    from asyncfc_cli.config import Settings
    from asyncfc_cli.events import SessionStarted, event_to_json
    from asyncfc_cli.saved_sessions import find_session, load_resumed
    from asyncfc_cli.transcript import sessions_dir

    start = SessionStarted(t=0.0, session_id="s1", model="openai/m", mode="async", api_base="http://h/v1")
    message = '{"type": "message_appended", "t": 0.1, "message": {"role": "user", "content": "hi"}}'
    own = sessions_dir(tmp_path) / "s1.jsonl"
    shipped = tmp_path / "shipped.jsonl"
    for path in (own, shipped):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(event_to_json(start) + "\n" + message + "\n")
    mine = load_resumed(find_session(tmp_path, "s1"), tmp_path)
    settings = mine.settings_for(Settings(), model_flag=None, api_base_flag=None)
    assert (settings.model, settings.api_base) == ("openai/m", "http://h/v1")
    theirs = load_resumed(find_session(tmp_path, str(shipped)), tmp_path)
    assert theirs.settings_for(Settings(), model_flag=None, api_base_flag=None).api_base is None
    other = mine.settings_for(Settings(api_base="http://x"), model_flag="openai/other", api_base_flag=None)
    assert (other.model, other.api_base) is not None and other.api_base == "http://x"


def test_the_scripted_demo_refuses_a_repository_that_is_not_its_own(repo: Path):
    result = asyncfc("run", "fix it", "--model", "scripted:demo", cwd=repo)
    assert result.returncode == 2
    assert "asyncfc demo" in result.stdout and "scenario file" in result.stdout
    assert not (repo / "stats.py").exists()


@pytest.mark.parametrize("module, path", [("openai_server", "/v1/chat/completions"),
                                          ("anthropic_server", "/v1/messages")])
def test_the_local_test_servers_start_from_the_command_line(tmp_path: Path, module: str, path: str):
    server = subprocess.Popen([sys.executable, "-m", f"asyncfc_cli.testing.{module}", "--scenario", "demo"],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        url = first.split(" at ", 1)[1].strip().removesuffix("/v1")
        body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "fix it"}],
                "tools": [{"name": "read_file", "input_schema": {"type": "object"},
                           "type": "function", "function": {"name": "read_file"}}]}
        request = urllib.request.Request(url + path, json.dumps(body).encode(),
                                         {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        assert "stats.py" in json.dumps(reply)
    finally:
        server.terminate()
        server.wait(timeout=10)
