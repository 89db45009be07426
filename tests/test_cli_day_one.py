"""What a new user reaches for in the first minutes: --version and -h, help that shows choices and
no value type for on/off flags, errors printed once and in order, sessions addressed by id, a
resume that remembers its model, the scripted demo refusing someone else's repository, and the
local test servers started from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from test_cli import SCENARIO, asyncfc


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hello world\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    return tmp_path


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
    assert "<virtual|real>" in bench_help and "<simulated|real>" in bench_help
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
        result = asyncfc("replay", ref, cwd=repo, timeout=20)
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
    from asyncfc_cli.sessions import find_session, load_resumed
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
