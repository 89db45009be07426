"""The list of sessions shows the model a session was running when it stopped, by the rule a resume
continues with (its last start, resume or settings change), also for a session adopted from a
foreign transcript; and no transcript outside the user's sessions folder gives a resume its
endpoint, whoever calls ``load_resumed``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asyncfc_cli.events import SessionResumed, SessionStarted, SettingsChanged, event_to_json
from asyncfc_cli.saved_sessions import find_session, format_sessions, list_sessions, load_resumed
from asyncfc_cli.transcript import sessions_dir

ANSWER = "name: answer\nprofile: instant\nsteps:\n  - answer: \"Done.\"\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ASYNCFC_MODEL", raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "answer.yaml").write_text(ANSWER)
    return root


def lines(*events) -> str:
    conversation = [{"type": "message_appended", "t": 0.1, "message": {"role": role, "content": text}}
                    for role, text in (("system", "You are asyncfc."), ("user", "fix x"), ("assistant", "Fixed."))]
    return "".join(event_to_json(e) + "\n" for e in events[:1]) + "".join(
        json.dumps(c) + "\n" for c in conversation) + "".join(event_to_json(e) + "\n" for e in events[1:])


def own_transcript(repo: Path, *events) -> Path:
    path = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lines(*events))
    return path


@pytest.mark.parametrize("later, shown", [
    ([SettingsChanged(t=1.0, model="openai/b", mode="sync", approval="ask")], ("openai/b", "sync")),
    ([SettingsChanged(t=1.0, model="openai/b", mode="sync", approval="ask"),
      SessionResumed(t=2.0, session_id="abc123", model="openai/c", mode="serial")], ("openai/c", "serial")),
    ([], ("openai/a", "async")),
])
def test_the_list_shows_the_model_a_resume_would_continue_with(repo: Path, later, shown) -> None:
    own_transcript(repo, SessionStarted(t=0.0, session_id="abc123", model="openai/a", mode="async"), *later)
    [info] = list_sessions(repo)
    assert (info.model, info.mode) == shown
    resumed = load_resumed(info, repo)
    assert (resumed.model, resumed.mode) == shown
    assert shown[0] in format_sessions([info])


def test_a_start_with_a_model_that_is_not_text_is_skipped_by_the_list(repo: Path) -> None:
    path = own_transcript(repo, SessionStarted(t=0.0, session_id="abc123", model="openai/a", mode="async"))
    with path.open("a") as handle:
        handle.write(json.dumps({"type": "settings_changed", "t": 1.0, "model": ["x"], "mode": "sync",
                                 "approval": "ask"}) + "\n")
        handle.write(json.dumps({"type": "session_finished", "t": 2.0, "outcome": ["x"], "exit_code": 0}) + "\n")
    [info] = list_sessions(repo)
    assert (info.model, info.outcome) == ("openai/a", "")
    format_sessions([info])


def test_no_resume_without_saying_whose_sessions_folder_is_trusted(repo: Path, tmp_path: Path) -> None:
    shipped = repo / "session.jsonl"
    shipped.write_text(lines(SessionStarted(t=0.0, session_id="abc123", model="openai/x", mode="async",
                                            api_base="http://attacker.example/v1")))
    info = find_session(repo, str(shipped))
    with pytest.raises(TypeError):
        load_resumed(info)  # type: ignore[call-arg]
    resumed = load_resumed(info, repo)
    assert (resumed.model, resumed.api_base) == ("", "") and resumed.adopted_from == shipped


def test_an_adopted_sessions_model_is_listed(repo: Path) -> None:
    shipped = repo / "docs" / "session.jsonl"
    shipped.parent.mkdir()
    shipped.write_text(lines(SessionStarted(t=0.0, session_id="abc123", model="openai/expensive", mode="async")))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "ASYNCFC_MODEL": str(repo / "answer.yaml")}

    def asyncfc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "asyncfc_cli", *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)

    assert asyncfc("run", "--resume", str(shipped), "--headless", "go on").returncode == 0
    [info] = list_sessions(repo)
    assert info.model == "scripted:answer"
    listed = asyncfc("sessions").stdout
    assert "scripted:answer" in listed and "openai/expensive" not in listed


def test_resuming_a_scenario_files_session_says_to_name_the_file_again(repo: Path) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    def asyncfc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "asyncfc_cli", *args, "--headless"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    assert asyncfc("run", "--model", str(repo / "answer.yaml"), "do it").returncode == 0
    again = asyncfc("run", "--resume", "last", "again")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "ran the scripted model 'scripted:answer' of a scenario file" in again.stderr
    assert "resume it with --model path/to/that/scenario.yaml" in again.stderr
    assert asyncfc("run", "--resume", "last", "--model", str(repo / "answer.yaml"), "again").returncode == 0
