"""`asyncfc -c` in the TUI: the earlier conversation of the resumed session is shown before the
resume (prompts, answers, calls folded as they ended), the status bar's totals go on from it, and
none of it is written again or left running in the live lanes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from asyncfc_cli import events as ev
from asyncfc_cli.app import build_engine
from asyncfc_cli.config import Settings
from asyncfc_cli.futures import State
from asyncfc_cli.saved_sessions import find_session, load_resumed
from asyncfc_cli.tui import session_engine
from asyncfc_cli.tui.app import AsyncfcApp
from asyncfc_cli.tui.transcript_view import TranscriptView
from asyncfc_cli.workspace import Workspace
from test_resume_clock import AGAIN, FIRST, run_engine
from tools_repo import make_repo
from tui_helpers import run, scripted_app, wait_for


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return Workspace(make_repo(tmp_path / "repo", {"a.py": "x = 1\n"}))


def entries(app: AsyncfcApp) -> list[str]:
    """The transcript pane's entries as text (a call's entry by its title)."""
    out = []
    for widget in app.query_one(TranscriptView).children:
        title = getattr(widget, "title", None)
        content = getattr(widget, "content", "")
        out.append(str(title) if title is not None else getattr(content, "markup", str(content)))
    return out


def index(texts: list[str], part: str) -> int:
    return next(i for i, text in enumerate(texts) if part in text)


def test_a_resumed_session_shows_its_earlier_conversation_before_the_resume(workspace):
    trio.run(run_engine, workspace, FIRST, "fix x", clock=MockClock(autojump_threshold=0))
    resumed = load_resumed(find_session(workspace.root), workspace.root)
    scenario = workspace.root.parent / "again.json"
    scenario.write_text(json.dumps(AGAIN))
    bus = ev.EventBus()  # wired as the CLI's `_open_tui` wires it
    engine = session_engine(build_engine(Settings(model=str(scenario), approval="auto"), workspace, bus=bus,
                                         interactive=True, resume=resumed))

    async def main() -> None:
        app = AsyncfcApp(engine, bus=bus, earlier=resumed.earlier)
        async with app.run_test(size=(80, 24)) as pilot:
            texts = entries(app)
            assert index(texts, "earlier in this session") < index(texts, "fix x") < index(texts, "x is 1.")
            assert sum("read_file" in text for text in texts) == 1 and any("grep" in text for text in texts)
            assert app.state.turns == resumed.prior_turns == 3 and app.state.total_tokens > 0
            assert not app.state.futures and not app.state.busy  # the earlier run's lanes are not live
            earlier_tokens = app.state.total_tokens
            app.submit_task("again")
            await wait_for(pilot, lambda: app.state.outcome is not None)
            texts = entries(app)
            assert index(texts, "x is 1.") < index(texts, "resumed session") < index(texts, "again") \
                < index(texts, "Still 1.")
            assert app.state.futures and not {"f1", "f2", "f3", "f4"} & set(app.state.futures)  # this run's only
            assert app.state.turns == 5 and app.state.total_tokens > earlier_tokens  # counted on

    run(main)
    lines = [json.loads(line) for line in resumed.transcript.read_text().splitlines()]
    assert [line["type"] for line in lines].count("session_started") == 1  # shown, never written again
    assert [line.get("text") for line in lines if line["type"] == "user_message"] == ["fix x", "again"]


EARLIER = [
        ev.SessionStarted(0.0, session_id="s", model="m", mode="async"),
        ev.UserMessage(0.1, text="build it"),
        ev.RequestStarted(0.2, turn=1),
        ev.RequestFinished(0.5, turn=1, usage={"prompt_tokens": 10, "completion_tokens": 5}),
        ev.FutureCreated(0.5, id="f1", tool="shell", args={"command": "make"}),
        ev.ApprovalRequested(0.55, id="f1", tool="shell", preview="$ make"),
        ev.FutureStarted(0.6, id="f1"),
    ]  # then the process was killed: no finish recorded


def test_calls_an_earlier_run_left_unfinished_show_as_it_left_them_not_as_live():
    async def main() -> None:
        app = AsyncfcApp(earlier=EARLIER)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: bool(entries(app)))
            assert not app.state.futures and not app.state.busy and app.state.total_tokens == 15
            [box] = [w for w in app.query_one(TranscriptView).children if getattr(w, "title", None) is not None]
            assert State.CANCELLED in str(box.title) and State.RUNNING not in str(box.title)

    run(main)


def test_an_approval_the_earlier_run_left_open_is_not_asked_again(tmp_path):
    async def main() -> None:
        app = scripted_app(tmp_path)  # a live, interactive session that asks
        app.earlier = EARLIER
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: bool(entries(app)))
            await pilot.pause()
            assert len(app.screen_stack) == 1 and not app.state.pending_approvals()

    run(main)
