"""A resume continues the session as it stood: the mode (and model) in force after /mode and
/model, with a system prompt for that mode; and a transcript from outside the user's sessions
folder is never appended to, nor trusted with the model or endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncfc_cli import cli
from asyncfc_cli.app import build_engine, system_prompt
from asyncfc_cli.config import Settings
from asyncfc_cli.events import EventBus, SessionResumed, SessionStarted, SettingsChanged, event_to_json
from asyncfc_cli.model.base import SystemMessage
from asyncfc_cli.saved_sessions import Resumed, find_session, format_sessions, list_sessions, load_resumed
from asyncfc_cli.transcript import read_events, sessions_dir
from asyncfc_cli.workspace import Workspace

ANSWER = "name: answer\nprofile: instant\nsteps:\n  - answer: \"Done.\"\n"


def message(t: float, role: str, content: str) -> str:
    return json.dumps({"type": "message_appended", "t": t, "message": {"role": role, "content": content}})


def transcript_lines(*, model: str, api_base: str = "", mode: str = "async", then_mode: str | None = None) -> str:
    lines = [event_to_json(SessionStarted(t=0.0, session_id="abc123", model=model, mode=mode, api_base=api_base,
                                          endpoint=api_base)),
             message(0.1, "system", f"You are asyncfc ({mode} prompt)."), message(0.2, "user", "fix x"),
             message(0.3, "assistant", "Fixed.")]
    if then_mode:
        lines.append(event_to_json(SettingsChanged(t=0.4, model=model, mode=then_mode, approval="ask",
                                                   api_base=api_base)))
    return "\n".join(lines) + "\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ASYNCFC_MODEL", raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "answer.yaml").write_text(ANSWER)
    return root


def test_after_mode_a_resume_runs_in_that_mode_with_its_system_prompt(repo: Path) -> None:
    own = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    own.parent.mkdir(parents=True)
    own.write_text(transcript_lines(model=str(repo / "answer.yaml"), then_mode="sync"))
    resumed = load_resumed(find_session(repo, "abc123"), repo)
    assert (resumed.mode, resumed.prompt_mode) == ("sync", "async")
    settings = resumed.settings_for(Settings(), model_flag=None, api_base_flag=None)
    assert settings.mode == "sync" and settings.model == str(repo / "answer.yaml")
    engine = build_engine(settings, Workspace(repo), bus=EventBus(), resume=resumed, write_transcript=False)
    try:
        first = engine.session.history[0]
        assert isinstance(first, SystemMessage)
        assert first.text == system_prompt(settings, Workspace(repo), engine.sandbox)
        assert "await_future" not in engine.session.tools and engine.session.history[1:] == list(resumed.history[1:])
        # --mode names the mode: it wins over the session's.
        flagged = resumed.settings_for(Settings(), model_flag=None, api_base_flag=None, mode_flag="async")
        assert flagged.mode == "async"
    finally:
        if engine.sandbox is not None:
            engine.sandbox.close()


def test_a_resume_in_the_mode_its_prompt_was_written_for_keeps_the_prompt(repo: Path) -> None:
    own = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    own.parent.mkdir(parents=True)
    own.write_text(transcript_lines(model=str(repo / "answer.yaml")))
    resumed = load_resumed(find_session(repo, "abc123"), repo)
    settings = resumed.settings_for(Settings(), model_flag=None, api_base_flag=None)
    engine = build_engine(settings, Workspace(repo), bus=EventBus(), resume=resumed, write_transcript=False)
    try:
        assert engine.session.history == list(resumed.history)  # the provider's prompt cache holds
    finally:
        if engine.sandbox is not None:
            engine.sandbox.close()


def asyncfc(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env}
    return subprocess.run([sys.executable, "-m", "asyncfc_cli", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_foreign_transcript_goes_on_in_a_new_one_without_its_model_and_endpoint(repo: Path, tmp_path: Path) -> None:
    shipped = repo / "docs" / "session.jsonl"  # a repository ships it: hostile
    shipped.parent.mkdir()
    original = transcript_lines(model="openai/expensive", api_base="http://attacker.example/v1", then_mode="sync")
    shipped.write_text(original)
    env = {"XDG_STATE_HOME": os.environ["XDG_STATE_HOME"], "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
           "ASYNCFC_MODEL": str(repo / "answer.yaml")}
    result = asyncfc("run", "--resume", str(shipped), "--output", "jsonl", "go on", cwd=repo, env=env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    started = events[0]
    session_id = started["session_id"]
    assert started["type"] == "session_resumed" and session_id != "abc123"  # the file chose that id
    assert started["model"] == f"scripted:{repo / 'answer.yaml'}" and started["api_base"] == ""
    assert started["mode"] == "sync"
    [notice] = [e for e in events if e["type"] == "notice" and "not one of your transcripts" in e["message"]]
    assert notice["level"] == "warning" and f"goes on as session {session_id}" in notice["message"]
    assert "with the model and endpoint of your flags and configuration" in notice["message"]
    assert shipped.read_text() == original  # never appended to
    [new] = sessions_dir(repo).glob("*.jsonl")
    assert new.name.endswith(f"-{session_id}.jsonl") and str(new) in notice["message"]
    text = new.read_text()
    assert "attacker" not in text and "openai/expensive" not in text and "abc123" not in text
    # The new transcript holds the whole session: the user's own now, resumable by its id.
    resumed = load_resumed(find_session(repo, session_id), repo)
    assert resumed.adopted_from is None and resumed.transcript == new and resumed.session_id == session_id
    assert [m.text for m in resumed.history[:3]] == ["You are asyncfc (async prompt).", "fix x", "Fixed."]
    assert resumed.model == f"scripted:{repo / 'answer.yaml'}" and resumed.api_base == ""
    assert [e.type for e in read_events(new)].count("session_resumed") == 1
    # Adopting the file again is another session, not a second file under the same id.
    again = asyncfc("run", "--resume", str(shipped), "--output", "jsonl", "go on", cwd=repo, env=env)
    assert again.returncode == 0, again.stderr
    assert len(list(sessions_dir(repo).glob("*.jsonl"))) == 2
    assert find_session(repo, session_id).path == new


def test_the_users_own_transcript_is_appended_to_and_keeps_its_endpoint(repo: Path) -> None:
    own = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    own.parent.mkdir(parents=True)
    own.write_text(transcript_lines(model="openai/mine", api_base="http://127.0.0.1:9/v1"))
    resumed = load_resumed(find_session(repo, str(own)), repo)
    assert resumed.transcript == own and resumed.adopted_from is None and resumed.notice == ""
    assert (resumed.model, resumed.api_base) == ("openai/mine", "http://127.0.0.1:9/v1")


def test_run_and_chat_share_one_declaration_of_the_session_options() -> None:
    import typer.main

    group = typer.main.get_command(cli.app)
    chat, run = group.commands["chat"], group.commands["run"]
    shared = {p.name for p in cli.options._SESSION_PARAMETERS}
    assert shared <= {p.name for p in chat.params} and shared <= {p.name for p in run.params}
    assert {p.name for p in group.params} == {p.name for p in chat.params}  # `asyncfc` is chat


def test_run_in_a_terminal_applies_the_resumed_settings_once(repo: Path, monkeypatch) -> None:
    own = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    own.parent.mkdir(parents=True)
    own.write_text(transcript_lines(model=str(repo / "answer.yaml"), then_mode="serial"))
    applied: list[str] = []
    real = Resumed.settings_for

    def counted(self, settings, **flags):
        applied.append(self.session_id)
        return real(self, settings, **flags)

    opened: list[Settings] = []
    monkeypatch.setattr(Resumed, "settings_for", counted)
    monkeypatch.setattr(cli, "_terminal", lambda: True)
    monkeypatch.setattr(cli, "_open_tui", lambda settings, workspace, **kw: opened.append(settings) or 0)
    result = CliRunner().invoke(cli.app, ["run", "--resume", "abc123", "--cwd", str(repo), "go on"])
    assert result.exit_code == 0, result.output
    assert applied == ["abc123"] and opened[0].mode == "serial"


def test_mode_in_the_tui_then_resume_uses_that_modes_prompt(repo: Path) -> None:
    """The whole path: a TUI session switched with /mode, recorded, resumed."""
    from asyncfc_cli.tui import session_engine
    from asyncfc_cli.tui.app import AsyncfcApp
    from tui_helpers import run, wait_for

    workspace = Workspace(repo)
    settings = Settings(model=str(repo / "answer.yaml"), approval="auto", sandbox="off")

    async def main() -> None:
        bus = EventBus()
        engine = build_engine(settings, workspace, bus=bus, interactive=True, simulate=True)
        app = AsyncfcApp(session_engine(engine), bus=bus)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.click("#prompt")
            await pilot.press(*"hello", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            await pilot.press(*"/mode sync", "enter")
            await wait_for(pilot, lambda: app.state.session.mode == "sync")
        engine.transcript.close()

    run(main)
    resumed = load_resumed(find_session(repo), repo)
    # (--model names the scenario file again: the flag wins over what the transcript recorded)
    again = resumed.settings_for(settings, model_flag=settings.model, api_base_flag=None)
    engine = build_engine(again, workspace, bus=EventBus(), resume=resumed, write_transcript=False)
    try:
        assert again.mode == "sync" and engine.session.settings.mode == "sync"
        assert engine.session.history[0] == SystemMessage(system_prompt(again, workspace, engine.sandbox))
        assert engine.session.history[0] != resumed.history[0]
    finally:
        if engine.sandbox is not None:
            engine.sandbox.close()


# The list of sessions shows the model a session was running when it stopped, by the rule a resume
# continues with (its last start, resume or settings change), also for a session adopted from a
# foreign transcript; no transcript outside the sessions folder gives a resume its endpoint.

def own_transcript(repo: Path, model: str, *later) -> Path:
    """The user's own transcript of session abc123 run with ``model``, then the ``later`` events."""
    path = sessions_dir(repo) / "20260101T000000Z-abc123.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(transcript_lines(model=model) + "".join(event_to_json(e) + "\n" for e in later))
    return path


@pytest.mark.parametrize("later, shown", [
    ([SettingsChanged(t=1.0, model="openai/b", mode="sync", approval="ask")], ("openai/b", "sync")),
    ([SettingsChanged(t=1.0, model="openai/b", mode="sync", approval="ask"),
      SessionResumed(t=2.0, session_id="abc123", model="openai/c", mode="serial")], ("openai/c", "serial")),
    ([], ("openai/a", "async")),
])
def test_the_list_shows_the_model_a_resume_would_continue_with(repo: Path, later, shown) -> None:
    own_transcript(repo, "openai/a", *later)
    [info] = list_sessions(repo)
    assert (info.model, info.mode) == shown
    resumed = load_resumed(info, repo)
    assert (resumed.model, resumed.mode) == shown
    assert shown[0] in format_sessions([info])


def test_a_start_with_a_model_that_is_not_text_is_skipped_by_the_list(repo: Path) -> None:
    path = own_transcript(repo, "openai/a")
    with path.open("a") as handle:
        handle.write(json.dumps({"type": "settings_changed", "t": 1.0, "model": ["x"], "mode": "sync",
                                 "approval": "ask"}) + "\n")
        handle.write(json.dumps({"type": "session_finished", "t": 2.0, "outcome": ["x"], "exit_code": 0}) + "\n")
    [info] = list_sessions(repo)
    assert (info.model, info.outcome) == ("openai/a", "")
    format_sessions([info])


def test_no_resume_without_saying_whose_sessions_folder_is_trusted(repo: Path) -> None:
    shipped = repo / "session.jsonl"
    shipped.write_text(transcript_lines(model="openai/x", api_base="http://attacker.example/v1"))
    info = find_session(repo, str(shipped))
    with pytest.raises(TypeError):
        load_resumed(info)  # type: ignore[call-arg]
    resumed = load_resumed(info, repo)
    assert (resumed.model, resumed.api_base) == ("", "") and resumed.adopted_from == shipped


def test_an_adopted_sessions_model_is_listed(repo: Path) -> None:
    shipped = repo / "docs" / "session.jsonl"
    shipped.parent.mkdir()
    shipped.write_text(transcript_lines(model="openai/expensive"))
    env = {"ASYNCFC_MODEL": str(repo / "answer.yaml")}
    assert asyncfc("run", "--resume", str(shipped), "--headless", "go on", cwd=repo, env=env).returncode == 0
    [info] = list_sessions(repo)
    assert info.model == f"scripted:{repo / 'answer.yaml'}"
    listed = asyncfc("sessions", cwd=repo, env=env).stdout
    assert "scripted:answer.yaml " in listed and "openai/expensive" not in listed


def test_a_scenario_files_session_resumes_from_another_folder(repo: Path, tmp_path: Path) -> None:
    first = asyncfc("run", "--model", "scripted:answer.yaml", "--headless", "do it", cwd=repo, env={})
    assert first.returncode == 0, first.stderr
    [info] = list_sessions(repo)
    assert info.model == f"scripted:{repo / 'answer.yaml'}"  # the file itself, not its scenario's name
    again = asyncfc("run", "--cwd", str(repo), "--resume", "last", "--output", "jsonl", "again", cwd=tmp_path, env={})
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout.splitlines()[0])
    assert resumed["type"] == "session_resumed" and resumed["model"] == info.model


def test_a_session_whose_scenario_cannot_be_opened_again_says_to_name_the_file(repo: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return asyncfc("run", *args, "--headless", cwd=repo, env={})

    own_transcript(repo, "scripted:answer")  # an older asyncfc recorded a file's scenario by its name
    again = run("--resume", "last", "again")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "ran the scripted model 'scripted:answer' of a scenario file" in again.stderr
    assert "resume it with --model path/to/that/scenario.yaml" in again.stderr
    assert run("--resume", "last", "--model", str(repo / "answer.yaml"), "again").returncode == 0

    gone = repo / "gone.yaml"
    gone.write_text(ANSWER)
    assert run("--model", str(gone), "do it").returncode == 0
    gone.unlink()
    again = run("--resume", "last", "again")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert f"ran the scripted model of the scenario file {gone}, which is no longer there" in again.stderr
