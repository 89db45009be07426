"""The prompt's slash commands, ``@path`` completion and ``!command``, driven as a user types them:
a real Session (scripted model, simulated tools) hosted in the app, its commands carried out by
``controls.SessionControls``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from asyncfc_tools import builtin_tools
from rich.console import Console
from textual.widgets import Static

from asyncfc_cli.app import open_model
from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.config import Settings
from asyncfc_cli.controls import SessionControls
from asyncfc_cli.events import EventBus
from asyncfc_cli.model.scripted import ScriptedClient, parse_scenario
from asyncfc_cli.session import Session
from asyncfc_cli.simtools import simulated_tools
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.engines import SessionEngine
from asyncfc_cli.tui.prompt_box import CompletionMenu
from asyncfc_cli.tui.prompt_input import PromptInput
from asyncfc_cli.tui.slash import COMMANDS
from asyncfc_cli.tui.transcript_view import TranscriptView
from tui_helpers import FAST, no_checkpoint, run, wait_for

SIZE = (120, 36)
ANSWER = {"name": "answer", "profile": FAST, "steps": [{"answer": "Done."}]}


def controlled_app(tmp_path: Path) -> tuple[AsyncfcApp, Session]:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "cache.md").write_text("cache notes\n")
    bus = EventBus()
    scenario = parse_scenario(ANSWER)
    gate = ApprovalGate("ask", bus, tmp_path, interactive=True, checkpoint=no_checkpoint)
    from asyncfc_cli.workspace import Workspace

    session = Session(model=ScriptedClient(scenario), tools=simulated_tools(scenario, builtin_tools()), bus=bus,
                      settings=Settings(approval="ask", model="scripted:answer"), workspace=Workspace(tmp_path),
                      gate=gate, system_prompt="You are a test.")
    controls = SessionControls(session, gate, open_model=open_model, system_prompt=lambda s: f"prompt for {s.mode}")
    return AsyncfcApp(SessionEngine(session, gate, controls=controls), bus=bus), session


def menu_labels(app) -> list[str]:
    menu = app.query_one(CompletionMenu)
    return [c.label for c in menu.items] if menu.display else []


def plain(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def notes(app) -> str:
    return "\n".join(plain(w) for w in app.query_one(TranscriptView).query(Static) if w.has_class("note"))


async def ready(pilot, app) -> None:
    await wait_for(pilot, lambda: bool(app.state.session.root))
    await pilot.click("#prompt")


def test_slash_completion_lists_every_command_and_narrows_as_you_type(tmp_path: Path) -> None:
    async def main() -> None:
        app, _ = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press("/")
            assert [label.split()[0] for label in menu_labels(app)] == [f"/{c.name}" for c in COMMANDS][:8]
            await pilot.press("m", "o")
            assert menu_labels(app) == ["/model [NAME]", "/mode [MODE]"]
            await pilot.press("escape")
            assert menu_labels(app) == [] and app.query_one(PromptInput).text == "/mo"
    run(main)


def test_mode_is_completed_and_set_through_the_session(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press("/", "m", "o", "d", "e", "tab")
            assert app.query_one(PromptInput).text == "/mode "
            assert menu_labels(app) == ["async", "sync", "serial"]
            await pilot.press("s", "down", "tab")
            assert app.query_one(PromptInput).text == "/mode serial"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.state.session.mode == "serial")
            assert session.settings.mode == "serial" and "await_future" not in session._tools
            assert session.history[0].text == "prompt for serial"
            await pilot.press(*"/mode sideways", "enter")
            await wait_for(pilot, lambda: "unknown mode 'sideways'" in transcript_text(app))
    run(main)


def transcript_text(app) -> str:
    return "\n".join(plain(w) for w in app.query_one(TranscriptView).query(Static))


def test_help_lists_the_commands_and_model_switches_the_status_bar(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press("/", "h", "e", "enter")  # Enter on the completion runs it
            await wait_for(pilot, lambda: "/compact" in notes(app))
            assert all(f"/{c.name}" in notes(app) for c in COMMANDS) and "@path" in notes(app)
            await pilot.press(*"/model scripted:demo", "enter")
            await wait_for(pilot, lambda: app.state.session.model == "scripted:demo")
            assert session.model.name == "scripted:demo"
            await pilot.press(*"/cost", "enter")
            await wait_for(pilot, lambda: "0 requests" in notes(app))
    run(main)


def test_at_completes_workspace_paths_and_attaches_the_file(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press(*"fix @ca")
            assert menu_labels(app) == ["@calc.py", "@notes/cache.md"]
            await pilot.press("tab")
            assert app.query_one(PromptInput).text == "fix @calc.py "
            await pilot.press(*"now", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            sent = session.history[1].text
            assert sent.startswith("fix @calc.py now") and '<file path="calc.py">\n```\ndef add(a, b):' in sent
    run(main)


def test_a_bang_command_shows_its_output_and_goes_to_the_model_with_the_next_prompt(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press(*"!echo from-the-user", "enter")
            await wait_for(pilot, lambda: "from-the-user" in notes(app))
            await pilot.press(*"go on", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            sent = session.history[1].text
            assert "I ran `echo from-the-user` myself" in sent and sent.endswith("go on")
    run(main)


def test_clear_empties_the_conversation_and_the_pane(tmp_path: Path) -> None:
    async def main() -> None:
        app, session = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press(*"hello", "enter")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            assert len(session.history) == 3
            await pilot.press(*"/clear", "enter")
            await wait_for(pilot, lambda: len(session.history) == 1)
            await wait_for(pilot, lambda: "conversation cleared" in transcript_text(app))
            assert "hello" not in transcript_text(app)
    run(main)


def test_the_palette_offers_the_slash_commands(tmp_path: Path) -> None:
    async def main() -> None:
        app, _ = controlled_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: palette_open(app))
            await pilot.press(*"/diff")
            await wait_for(pilot, lambda: palette_offers(app, "/diff"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: "No changes in the working tree." in notes(app)
                           or "calc.py" in notes(app))
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: palette_open(app))
            await pilot.press(*"/mode")
            await wait_for(pilot, lambda: palette_offers(app, "/mode"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.query_one(PromptInput).text == "/mode ")
    run(main)


def palette_open(app) -> bool:
    """Whether the command palette is up and takes what is typed."""
    from textual.command import CommandInput, CommandPalette

    return isinstance(app.screen, CommandPalette) and app.screen.query_one(CommandInput).has_focus


def palette_offers(app, name: str) -> bool:
    """Whether the command palette has finished searching what was typed and offers ``name`` first."""
    from textual.command import CommandList, CommandPalette

    palette = app.screen
    if not isinstance(palette, CommandPalette) or any(w.node is palette and not w.is_finished for w in app.workers):
        return False
    hits = palette.query_one(CommandList)
    first = hits.get_option_at_index(hits.highlighted) if hits.highlighted is not None else None
    return getattr(getattr(first, "hit", None), "text", None) == name  # not the "no matches" line


def undoing_app(tmp_path: Path, monkeypatch, *, recorded: bool) -> tuple[AsyncfcApp, list[Path], list[float]]:
    """The controlled app with its engine saying whether the last task's end is ``recorded``, and
    the lists of the roots undone and of the timeouts the engine was asked to wait."""
    from asyncfc_cli import tool_commands

    app, _ = controlled_app(tmp_path)
    undone: list[Path] = []
    waits: list[float] = []
    monkeypatch.setattr(tool_commands, "undo_command", lambda root: (undone.append(root), ("undid session s1", 0))[1])
    monkeypatch.setattr(app.engine, "wait_ends_recorded", lambda timeout: (waits.append(timeout), recorded)[1],
                        raising=False)
    return app, undone, waits


@pytest.mark.parametrize(("recorded", "said", "undoes"), [
    (True, "undid session s1", True),
    # not yet recorded: undoing now would take back the user's own edits of the last task's time
    (False, "Nothing undone: the last task's end is still being recorded. Try /undo again", False),
])
def test_undo_waits_for_the_last_tasks_end_through_the_engine(tmp_path: Path, monkeypatch, recorded, said,
                                                             undoes) -> None:
    async def main() -> None:
        app, undone, waits = undoing_app(tmp_path, monkeypatch, recorded=recorded)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await pilot.press(*"/undo", "enter")
            await wait_for(pilot, lambda: said in notes(app))
            assert undone == ([tmp_path] if undoes else []) and len(waits) == 1 and waits[0] > 0
    run(main)


def test_the_engines_say_whether_the_ends_are_recorded(tmp_path: Path) -> None:
    from asyncfc_cli.tui.engines import ReplayEngine

    class Gate:
        def __init__(self, recorded: bool) -> None:
            self.recorded, self.waits = recorded, []

        def wait_ends_recorded(self, timeout: float) -> bool:
            self.waits.append(timeout)
            return self.recorded

    busy, done = Gate(False), Gate(True)
    assert SessionEngine(None, busy).wait_ends_recorded(2.5) is False and busy.waits == [2.5]
    assert SessionEngine(None, done).wait_ends_recorded(1.0) is True
    assert SessionEngine(None).wait_ends_recorded(1.0) is True  # no gate: nothing records ends
    assert ReplayEngine([]).wait_ends_recorded(1.0) is True
